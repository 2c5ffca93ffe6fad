"""Filling the UI's forms as a person would, with the synthetic cohort's scenario children."""

from __future__ import annotations

from typing import Any

from broker.entrypoints.demo import scenario_enquiry


def scenario_child(scenario: str = "all_sources_high_risk") -> dict[str, Any]:
    return dict(scenario_enquiry(scenario, household=False)["subjects"][0])


def fill_child(page: Any, child: dict[str, Any]) -> None:
    for field in ("given_name", "family_name", "date_of_birth", "address", "postcode", "nhs_number", "upn"):
        if child.get(field):
            page.fill(f"#{field}", str(child[field]))
    if child.get("sex"):
        page.select_option("#sex", child["sex"])


def fill_consent_not_sought(page: Any, approver: str = "Team manager (on duty)") -> None:
    page.select_option("#consent_status", "not_sought")
    page.fill("#lawful_basis", "UK-GDPR-6(1)(e); UK-GDPR-9(2)(g) with DPA2018 Sch1 Pt2 para18")
    page.fill("#approved_by", approver)
    page.fill("#consent_reason", "Seeking consent could place the child at increased risk of harm")
    page.select_option("#family_informed", "deferred")
    page.fill("#family_informed_reason", "Telling the family now could place the child at risk")


REFERRER = {"referrer_name": "Rita Referrer", "referrer_role": "Designated safeguarding lead",
            "referrer_organisation": "Quillsby Primary School", "referrer_phone": "01632 960000",
            "referrer_email": "rita.referrer@quillsby-primary.example"}
REASON = "Ruby arrived with bruising to her upper arm and said she was scared to go home tonight."


def fill_contact(page: Any, child: dict[str, Any]) -> None:
    for field, value in REFERRER.items():
        page.fill(f"#{field}", value)
    page.fill("#reason", REASON)
    fill_child(page, child)


def fill_signs_of_safety(page: Any, scale: int = 2) -> None:
    page.fill("#worries", "Unexplained bruising; the child is frightened to go home")
    page.fill("#working_well", "Attends school every day; a trusted teacher she talks to")
    page.fill("#needs_to_happen", "Multi-agency checks today; strategy discussion if confirmed")
    page.fill("#scale", str(scale))
