"""Builders for the front-door tests: contacts about children of the synthetic cohort."""

from __future__ import annotations

import datetime as dt
from typing import Any

from broker.domain.access import MASH_MANAGER, SCREENING_OFFICER, SOCIAL_WORKER, Principal
from broker.domain.consent import ConsentDecision, ConsentStatus
from broker.domain.contact import Referrer
from broker.domain.screening import SignsOfSafety
from broker.domain.subject import Subject
from broker.entrypoints.demo import scenario_enquiry
from broker.service.front_door import RecordContact

OFFICER = Principal(subject="test.officer", roles=frozenset({SCREENING_OFFICER}))
MANAGER = Principal(subject="test.manager", roles=frozenset({MASH_MANAGER}))
SECOND_MANAGER = Principal(subject="test.manager2", roles=frozenset({MASH_MANAGER}))
AUDITOR = Principal(subject="test.auditor", roles=frozenset({"auditor"}))
SERVICE = Principal(subject="svc.early-help", roles=frozenset({"service:early-help"}))
KAI_WORKER = Principal(subject="sw.amara.okafor", roles=frozenset({SOCIAL_WORKER}))

REFERRER_NAME = "Joanna Threlkeld-Vance"
REFERRER = Referrer(name=REFERRER_NAME, role="Designated Safeguarding Lead",
                    organisation="Quillsby Primary School", phone="01632 960123",
                    email="dsl@quillsby-primary.example")
KAI = {"subject_ref": "S1", "role": "child", "given_name": "Kai", "family_name": "Pellworth",
       "date_of_birth": "2010-01-05", "postcode": "QY3 1YN", "nhs_number": "999 871 6896",
       "local_case_id": "LCS-104311"}
SOS = SignsOfSafety(worries="Bruising on the forearm; inconsistent account.",
                    working_well="Attends school daily; grandmother supportive.",
                    needs_to_happen="Multi-agency checks; speak to the child.", scale=3)


def subjects(scenario: str = "all_sources_high_risk") -> tuple[Subject, ...]:
    return tuple(
        Subject.create(**{**s, "date_of_birth": dt.date.fromisoformat(s["date_of_birth"])})
        for s in scenario_enquiry(scenario)["subjects"]
    )


def contact_body(scenario: str = "all_sources_high_risk", **changes: Any) -> dict[str, Any]:
    """A POST /contacts body (referrer, reason, subjects)."""
    body = {
        "referrer": {"name": REFERRER_NAME, "role": "Designated Safeguarding Lead",
                     "organisation": "Quillsby Primary School", "phone": "01632 960123"},
        "reason": "Pupil arrived with bruising to the forearm and said she hides when adults shout.",
        "subjects": scenario_enquiry(scenario)["subjects"],
    }
    body.update(changes)
    return body


def record(actor: Principal = OFFICER, scenario: str = "all_sources_high_risk", **changes: Any) -> RecordContact:
    values: dict[str, Any] = {
        "referrer": REFERRER,
        "reason": "Pupil arrived with bruising to the forearm and said she hides when adults shout.",
        "subjects": subjects(scenario),
        "actor": actor,
    }
    values.update(changes)
    return RecordContact(**values)


def consent(status: str = "given", **changes: Any) -> ConsentDecision:
    values: dict[str, Any] = {
        "status": ConsentStatus(status), "decided_by": "test.officer", "decided_at": dt.datetime.now(dt.UTC),
        "given_by": "mother", "family_informed": "yes",
    }
    values.update(changes)
    return ConsentDecision(**values)
