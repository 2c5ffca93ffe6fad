"""Synthetic partner data: a seeded cohort of invented people and each partner's records.

`generate` writes the files; `load_cohort` and `request_subject` let tests and the
demo build enquiries about known people (see `cohort.json` -> `scenarios`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from adapters.sdk.messages import RequestSubject

COHORT_PATH = Path(__file__).with_name("cohort.json")


def load_cohort(path: Path = COHORT_PATH) -> dict[str, Any]:
    """The generated cohort document."""
    return json.loads(path.read_text(encoding="utf-8"))


def request_subject(cohort: dict[str, Any], person_id: str, subject_ref: str) -> RequestSubject:
    """A request subject for a cohort person, with what children's services know of them."""
    person = next(p for p in cohort["persons"] if p["person_id"] == person_id)
    home = next(h for h in cohort["households"] if h["household_id"] == person["household_id"])
    # The enquiry is about the household's "child"; everyone else is a household member.
    is_subject_child = person["relationship"] == "child"
    return RequestSubject(
        subject_ref=subject_ref,
        role="child" if is_subject_child else "household_member",
        relationship=None if is_subject_child else person["relationship"],
        given_name=person["given_name"],
        family_name=person["family_name"],
        date_of_birth=dt.date.fromisoformat(person["date_of_birth"]),
        sex=person["sex"],
        address=home["address"],
        postcode=home["postcode"],
        nhs_number=person["nhs_number"],
        upn=person["upn"],
        local_case_id=person["local_case_id"],
    )


def household_subjects(cohort: dict[str, Any], person_id: str) -> list[RequestSubject]:
    """The child first, then every other member of their household, refs s1, s2, ..."""
    person = next(p for p in cohort["persons"] if p["person_id"] == person_id)
    home = next(h for h in cohort["households"] if h["household_id"] == person["household_id"])
    ordered = [person_id] + [m for m in home["members"] if m != person_id]
    return [request_subject(cohort, pid, f"s{i}") for i, pid in enumerate(ordered, start=1)]
