"""Receiving services: who downstream of the MASH gets a view of a summary, and of what.

One JSON document per service (schema `schema/recipient.schema.json`; samples in
`recipients/`), validated like the agreements: every problem is reported with the file
and the JSON pointer where it is. Rules the schema cannot say are checked here too:
categories must be ones the agreements define, a webhook must be HTTPS unless it is on
the loopback interface (development), and ids must be unique across the directory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agreements.loader import DocumentsInvalid, Problem, read_json, schema_problems

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class ReceivingService:
    service_id: str
    name: str
    status: str
    public_jwk: dict[str, str]
    categories: frozenset[str]
    dissemination: frozenset[str]
    outcomes: frozenset[str]
    webhook: Webhook | None = None
    ack_within: dt.timedelta | None = None
    owner: str = ""

    @property
    def active(self) -> bool:
        return self.status == "active"

    def receives(self, outcome: str) -> bool:
        return self.active and outcome in self.outcomes


class RecipientsInvalid(DocumentsInvalid):
    pass


def parse_recipient(
    data: Any, *, file: str, known_categories: frozenset[str] | None = None
) -> tuple[ReceivingService | None, list[Problem]]:
    problems = schema_problems("recipient.schema.json", data, file=file)
    if problems:
        return None, problems
    if known_categories is not None:
        for index, category in enumerate(data["categories"]):
            if category not in known_categories:
                problems.append(Problem(file, f"/categories/{index}",
                                        f"{category!r} is not a data category of any agreement"))
    webhook = data["channels"].get("webhook")
    if webhook is not None:
        url = urlsplit(webhook["url"])
        if url.scheme != "https" and url.hostname not in LOOPBACK:
            problems.append(Problem(file, "/channels/webhook/url",
                                    "must be https (plain http only on the loopback interface)"))
        if url.username or url.password:
            problems.append(Problem(file, "/channels/webhook/url", "must not carry credentials"))
    if problems:
        return None, problems
    return ReceivingService(
        service_id=data["service_id"],
        name=data["name"],
        status=data["status"],
        public_jwk={k: data["public_jwk"][k] for k in ("kty", "crv", "x")},
        categories=frozenset(data["categories"]),
        dissemination=frozenset(data["dissemination"]),
        outcomes=frozenset(data["outcomes"]),
        webhook=Webhook(webhook["url"], float(webhook.get("timeout_s", 10.0))) if webhook else None,
        ack_within=dt.timedelta(seconds=data["ack_within_s"]) if "ack_within_s" in data else None,
        owner=data.get("owner", ""),
    ), []


def check_recipients(
    directory: Path, *, known_categories: frozenset[str] | None = None
) -> tuple[list[ReceivingService], list[Problem]]:
    """Every `*.json` service in `directory` (an absent directory means no services)."""
    if not directory.exists():
        return [], []
    if not directory.is_dir():
        return [], [Problem(str(directory), "(directory)", "is not a directory")]
    services: list[ReceivingService] = []
    problems: list[Problem] = []
    for path in sorted(directory.glob("*.json")):
        data, unreadable = read_json(path)
        if unreadable:
            problems.extend(unreadable)
            continue
        service, found = parse_recipient(data, file=str(path), known_categories=known_categories)
        problems.extend(found)
        if service is not None:
            services.append(service)
    seen: set[str] = set()
    for service in services:
        if service.service_id in seen:
            problems.append(Problem(str(directory), service.service_id, "service_id is defined twice"))
        seen.add(service.service_id)
    return services, problems


def load_recipients(
    directory: Path, *, known_categories: frozenset[str] | None = None
) -> list[ReceivingService]:
    services, problems = check_recipients(directory, known_categories=known_categories)
    if problems:
        raise RecipientsInvalid(problems)
    return services
