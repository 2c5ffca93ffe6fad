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
