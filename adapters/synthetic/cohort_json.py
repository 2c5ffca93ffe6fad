"""Render the cohort itself: who exists, who holds records on them, and the scenarios."""

from __future__ import annotations

import json

from adapters.synthetic.model import Cohort

DESCRIPTION = (
    "Entirely synthetic people in the invented borough of Quillsby. Names are made up, "
    "addresses are on invented streets, postcodes use the non-existent area QY, and NHS "
    "numbers are in the 999 test range. Identifiers are those children's services hold; "
    "known_to lists the partners holding any record on the person."
)
MATCHING_NOTE = (
    "Partners match by identifier first (confidence 1.0), else by given name + family name "
    "+ DOB + postcode, all exact after normalisation (confidence 0.85). A record whose "
    "postcode differs does NOT match on name + DOB alone: see scenario postcode_mismatch "
    "and adapters/sdk/matching.py."
)


def render(cohort: Cohort) -> str:
    members: dict[str, list[str]] = {}
    for person in cohort.persons:
        members.setdefault(person.household_id, []).append(person.person_id)
    document = {
        "description": DESCRIPTION,
        "seed": cohort.seed,
        "reference_date": cohort.reference_date.isoformat(),
        "matching": MATCHING_NOTE,
        "scenarios": cohort.scenarios,
        "scenario_notes": cohort.scenario_notes,
        "households": [
            {
                "household_id": h.household_id,
                "address": h.address,
                "postcode": h.postcode,
                "previous_postcode": h.previous_postcode,
                "members": members.get(h.household_id, []),
            }
            for h in cohort.households
        ],
        "persons": [
            {
                "person_id": p.person_id,
                "household_id": p.household_id,
                "relationship": p.relationship,
                "given_name": p.given_name,
                "family_name": p.family_name,
                "date_of_birth": p.date_of_birth.isoformat(),
                "sex": p.sex,
                "nhs_number": p.nhs_number,
                "upn": p.upn,
                "local_case_id": p.local_case_id,
                "known_to": cohort.known_to(p.person_id),
            }
            for p in cohort.persons
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
