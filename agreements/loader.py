"""Load agreement documents from disk, saying exactly what is wrong and where."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from agreements.model import Agreement, LawfulBasis, Party


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}"


class DocumentsInvalid(Exception):
    """A folder of configuration documents with problems; lists every one."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class AgreementsInvalid(DocumentsInvalid):
    pass


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "(document)"


def schema_problems(schema_file: str, data: Any, *, file: str) -> list[Problem]:
    """Every place `data` breaks the package's JSON Schema `schema/<schema_file>`."""
    schema = json.loads(resources.files("agreements").joinpath("schema", schema_file).read_text())
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [
        Problem(file, _pointer(e.absolute_path), e.message)
        for e in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    ]


def read_json(path: Path) -> tuple[Any, list[Problem]]:
    """A document's JSON, or why it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except (OSError, UnicodeDecodeError) as error:
        return None, [Problem(str(path), "(file)", f"cannot read: {error}")]
    except json.JSONDecodeError as error:
        return None, [Problem(str(path), f"line {error.lineno} column {error.colno}", error.msg)]


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def parse_document(data: Any, *, file: str) -> tuple[Agreement | None, list[Problem]]:
    """Validate one document against the schema and the rules the schema cannot say."""
    problems = schema_problems("agreement.schema.json", data, file=file)
    if problems:
        return None, problems
    known = set(data["data_categories"])
    seen: set[str] = set()
    for index, party in enumerate(data["parties"]):
        where = f"/parties/{index}"
        if party["partner_id"] in seen:
            problems.append(Problem(file, where, f"partner_id {party['partner_id']!r} appears twice"))
        seen.add(party["partner_id"])
        for category in party["categories"]:
            if category not in known:
                problems.append(
                    Problem(file, f"{where}/categories", f"{category!r} is not in data_categories")
                )
    effective_from = _date(data["effective_from"])
    effective_to = _date(data.get("effective_to"))
    assert effective_from is not None
    if effective_to is not None and effective_to < effective_from:
        problems.append(Problem(file, "/effective_to", "ends before effective_from"))
    if problems:
        return None, problems
    agreement = Agreement(
        agreement_id=data["agreement_id"],
        version=data["version"],
        title=data["title"],
        purposes=frozenset(data["purposes"]),
        parties=tuple(
            Party(
                partner_id=p["partner_id"],
                name=p["name"],
                organisation_type=p["organisation_type"],
                public_jwk={k: p["public_jwk"][k] for k in ("kty", "crv", "x")},
                categories=frozenset(p["categories"]),
                retention_days=p.get("retention_days", data["retention_days"]),
                signatory=p["signatory"],
                signed_at=_date(p.get("signed_at")),
            )
            for p in data["parties"]
        ),
        lawful_bases=tuple(LawfulBasis(b["code"], b["description"]) for b in data["lawful_bases"]),
        effective_from=effective_from,
        effective_to=effective_to,
        review_due=_date(data["review_due"]),  # type: ignore[arg-type]
        retention_days=data["retention_days"],
        status=data["status"],
        owner=data["owner"],
        data_categories=dict(data["data_categories"]),
    )
    return agreement, []


def load_file(path: Path) -> tuple[Agreement | None, list[Problem]]:
    data, problems = read_json(path)
    if problems:
        return None, problems
    return parse_document(data, file=str(path))


def check_directory(directory: Path) -> tuple[list[Agreement], list[Problem]]:
    """Every `*.json` agreement in `directory`; problems across files too (duplicate versions)."""
    if not directory.is_dir():
        return [], [Problem(str(directory), "(directory)", "no such directory")]
    agreements: list[Agreement] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.json")):
        agreement, found = load_file(path)
        problems.extend(found)
        if agreement is not None:
            agreements.append(agreement)
    seen: dict[tuple[str, str], int] = {}
    for agreement in agreements:
        key = (agreement.agreement_id, agreement.version)
        seen[key] = seen.get(key, 0) + 1
    for (agreement_id, version), count in seen.items():
        if count > 1:
            problems.append(
                Problem(str(directory), agreement_id, f"version {version} is defined {count} times")
            )
    if not agreements and not problems:
        problems.append(Problem(str(directory), "(directory)", "holds no agreement (*.json)"))
    return agreements, problems


def load_directory(directory: Path) -> list[Agreement]:
    """Load every agreement, or raise AgreementsInvalid listing every problem."""
    agreements, problems = check_directory(directory)
    if problems:
        raise AgreementsInvalid(problems)
    return agreements
