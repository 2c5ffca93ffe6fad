"""Loading agreement documents: the samples load, and every problem says which file and where."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from agreements.loader import AgreementsInvalid, Problem, check_directory, load_directory, load_file, parse_document

DOCUMENTS = Path(__file__).resolve().parents[2] / "agreements" / "documents"
TIER2 = DOCUMENTS / "mash-tier2-v3.0.json"


def _tier2() -> dict[str, Any]:
    return json.loads(TIER2.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _write(directory: Path, name: str, data: Any) -> Path:
    path = directory / name
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def _problems(data: dict[str, Any]) -> list[Problem]:
    agreement, problems = parse_document(data, file="isa.json")
    assert agreement is None
    assert problems
    return problems


# --- the samples -----------------------------------------------------------------------------------


def test_sample_documents_load_cleanly() -> None:
    """Every sample agreement validates and loads, with no problem reported."""
    agreements, problems = check_directory(DOCUMENTS)
    assert problems == []
    assert sorted((a.agreement_id, a.version) for a in agreements) == [
        ("housing-pilot", "1.0"),
        ("mash-tier2", "3.0"),
        ("probation-mash", "1.0"),
    ]
    assert len(load_directory(DOCUMENTS)) == 3


def test_sample_tier2_agreement_is_loaded_faithfully() -> None:
    """The loaded tier-2 agreement carries its dates, purposes, parties, categories and public keys only."""
    agreement, problems = load_file(TIER2)
    assert problems == [] and agreement is not None
    assert agreement.effective_from == dt.date(2025, 4, 1)
    assert agreement.effective_to == dt.date(2028, 3, 31)
    assert agreement.purposes == frozenset({"mash-safeguarding-enquiry"})
    assert [p.partner_id for p in agreement.parties] == ["police", "health", "education"]
    police = agreement.party("police")
    assert police is not None
    assert "police.domestic_abuse" in police.categories
    assert set(police.public_jwk) == {"kty", "crv", "x"}
    assert all(c in agreement.data_categories for p in agreement.parties for c in p.categories)


def test_party_without_own_retention_takes_the_agreement_retention() -> None:
    """A party that states no retention_days gets the agreement's."""
    agreement, _ = load_file(DOCUMENTS / "housing-pilot-v1.0.json")
    assert agreement is not None
    assert agreement.parties[0].retention_days == agreement.retention_days == 365


# --- each kind of problem ----------------------------------------------------------------------------


def test_bad_json_is_reported_with_file_line_and_column(tmp_path: Path) -> None:
    """A syntax error names the file and the line and column where the JSON breaks."""
    path = tmp_path / "broken.json"
    path.write_text('{\n  "agreement_id": "isa",\n  "version": "1.0",,\n}\n', encoding="utf-8")
    agreement, problems = load_file(path)
    assert agreement is None
    assert problems == [Problem(str(path), "line 3 column 20", "Expecting property name enclosed in double quotes")]
    assert str(problems[0]) == f"{path}: line 3 column 20: Expecting property name enclosed in double quotes"


def test_schema_violation_is_reported_with_a_json_pointer() -> None:
    """A value breaking the schema is reported at its JSON pointer."""
    data = _tier2()
    data["parties"][1]["partner_id"] = "Health Board!"
    problems = _problems(data)
    assert [(p.file, p.where) for p in problems] == [("isa.json", "/parties/1/partner_id")]
    assert "does not match" in problems[0].message


def test_missing_required_field_is_reported_at_the_document() -> None:
    """A missing top-level field is reported against the whole document, naming the field."""
    data = _tier2()
    del data["purposes"]
    problems = _problems(data)
    assert [(p.where, p.message) for p in problems] == [("(document)", "'purposes' is a required property")]


def test_every_schema_violation_is_reported_in_document_order() -> None:
    """Several schema problems are all reported, sorted by where they are."""
    data = _tier2()
    data["status"] = "paused"
    data["effective_from"] = "2025-13-01"
    data["parties"][0]["organisation_type"] = "army"
    wheres = [p.where for p in _problems(data)]
    assert wheres == ["/effective_from", "/parties/0/organisation_type", "/status"]


def test_category_not_in_data_categories_is_reported() -> None:
    """A party sharing a category the agreement does not define is reported at that party's categories."""
    data = _tier2()
    data["parties"][2]["categories"].append("education.free_school_meals")
    problems = _problems(data)
    assert [(p.where, p.message) for p in problems] == [
        ("/parties/2/categories", "'education.free_school_meals' is not in data_categories")
    ]


def test_duplicate_partner_is_reported() -> None:
    """The same partner_id twice is reported at the second occurrence."""
    data = _tier2()
    data["parties"].append(copy.deepcopy(data["parties"][0]))
    problems = _problems(data)
    assert [(p.where, p.message) for p in problems] == [("/parties/3", "partner_id 'police' appears twice")]


def test_effective_to_before_effective_from_is_reported() -> None:
    """An agreement that ends before it starts is reported at effective_to."""
    data = _tier2()
    data["effective_to"] = "2025-03-31"
    problems = _problems(data)
    assert [(p.where, p.message) for p in problems] == [("/effective_to", "ends before effective_from")]


def test_effective_to_equal_to_effective_from_is_allowed() -> None:
    """A one-day agreement is valid."""
    data = _tier2()
    data["effective_to"] = data["effective_from"]
    agreement, problems = parse_document(data, file="isa.json")
    assert problems == [] and agreement is not None


def test_private_key_part_in_a_jwk_is_reported() -> None:
    """A party JWK with a private part `d` is refused at that party's public_jwk."""
    data = _tier2()
    data["parties"][1]["public_jwk"]["d"] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
    problems = _problems(data)
    assert [p.where for p in problems] == ["/parties/1/public_jwk"]
    assert "should not be valid" in problems[0].message


def test_duplicate_version_across_files_is_reported(tmp_path: Path) -> None:
    """The same agreement id and version in two files is reported against the directory and agreement id."""
    data = _tier2()
    _write(tmp_path, "a.json", data)
    _write(tmp_path, "b.json", data)
    agreements, problems = check_directory(tmp_path)
    assert len(agreements) == 2
    assert problems == [Problem(str(tmp_path), "mash-tier2", "version 3.0 is defined 2 times")]
    with pytest.raises(AgreementsInvalid, match="mash-tier2: version 3.0 is defined 2 times"):
        load_directory(tmp_path)


def test_two_versions_of_one_agreement_are_fine(tmp_path: Path) -> None:
    """Different versions of the same agreement load side by side."""
    first = _tier2()
    second = _tier2()
    second["version"] = "3.1"
    _write(tmp_path, "v3.0.json", first)
    _write(tmp_path, "v3.1.json", second)
    assert sorted(a.version for a in load_directory(tmp_path)) == ["3.0", "3.1"]


def test_empty_directory_is_reported(tmp_path: Path) -> None:
    """A directory with no *.json agreement is reported, naming the directory."""
    (tmp_path / "README.txt").write_text("not an agreement", encoding="utf-8")
    agreements, problems = check_directory(tmp_path)
    assert agreements == []
    assert problems == [Problem(str(tmp_path), "(directory)", "holds no agreement (*.json)")]
    with pytest.raises(AgreementsInvalid, match="holds no agreement"):
        load_directory(tmp_path)


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    """A directory that does not exist is reported as such."""
    missing = tmp_path / "nowhere"
    assert check_directory(missing) == ([], [Problem(str(missing), "(directory)", "no such directory")])


def test_problems_in_several_files_are_all_reported_with_their_file(tmp_path: Path) -> None:
    """load_directory lists every problem in every file, each with its own file name, and loads nothing."""
    good = _write(tmp_path, "good.json", _tier2())
    bad_schema = _tier2()
    bad_schema["agreement_id"] = "X"
    bad_schema_path = _write(tmp_path, "schema.json", bad_schema)
    broken = tmp_path / "syntax.json"
    broken.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(AgreementsInvalid) as raised:
        load_directory(tmp_path)
    files = {p.file for p in raised.value.problems}
    assert files == {str(bad_schema_path), str(broken)}
    assert str(good) not in str(raised.value)
    assert f"{bad_schema_path}: /agreement_id:" in str(raised.value)
    assert f"{broken}: line 1 column 6:" in str(raised.value)


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    """A file that is not UTF-8 is reported as unreadable, naming it."""
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"title": "caf\xe9"}')
    agreement, problems = load_file(path)
    assert agreement is None
    assert [(p.file, p.where) for p in problems] == [(str(path), "(file)")]
    assert problems[0].message.startswith("cannot read:")
