"""Recipient-specific views are made from the full record only by removal (hypothesis)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from broker.domain.recipients import (
    ServicePolicy,
    full_record,
    is_substructure,
    make_view,
    redact,
    strings_in,
)

CATEGORIES = ("police.incidents", "police.domestic_abuse", "health.camhs", "education.attendance",
              "education.sen", "housing.tenancy")
LEVELS = ("summary_safe", "mash_only", "owner_approval")
PARTNERS = ("education", "health", "housing", "police")

names = st.from_regex(r"[A-Z][a-z]{2,9} [A-Z][a-z]{3,11}", fullmatch=True)
words = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=30)


@st.composite
def records(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    referrer = draw(names)

    def text() -> str:
        # Free text that sometimes names the referrer (a manager's rationale, a partner's note).
        base = draw(words)
        return f"{base} {referrer} said" if draw(st.booleans()) else base

    partners = []
    for partner in draw(st.lists(st.sampled_from(PARTNERS), unique=True, min_size=1)):
        own = [c for c in CATEGORIES if c.startswith(partner)] or ["housing.tenancy"]
        findings = [
            {"category": draw(st.sampled_from(own)), "date": "2026-10-01", "summary": text(),
             "source_system": "sys", "source_reference": draw(st.sampled_from(["R-1", "R-2"])),
             "sos_domain": "worry", "dissemination": draw(st.sampled_from(LEVELS)),
             "match": {"subject_ref": "S1", "method": "identifier", "confidence": 1.0}}
            for _ in range(draw(st.integers(0, 4)))
        ]
        partners.append({
            "partner_id": partner, "partner_name": partner.title(), "request_id": f"r-{partner}",
            "categories_requested": own, "agreement": {"id": "a", "version": "1"},
            "outcome": "findings" if findings else "no_trace", "late": False,
            "replied_at": "2026-11-01T10:00:00Z",
            "brag": {"rating": "amber", "rationale": text()} if findings else None,
            "findings": findings, "declined_reason": None, "signed_reply": "eyJ.sig.nature",
        })
    summary = {
        "type": "mash.enquiry-summary", "schema_version": 1, "summary_id": "s1", "version": 1,
        "enquiry_id": "e1", "purpose": "mash-safeguarding-enquiry",
        "subjects": [{"subject_ref": "S1", "role": "child", "given_name": "Tia", "family_name": "Okoro"}],
        "consent": {"status": "not_sought", "decided_by": "Officer A", "approved_by": "Manager B",
                    "reason": text(), "lawful_basis": "UK-GDPR-6(1)(e)", "given_by": None},
        "gate_decisions": [{"gate": "consent", "partner_id": None, "passed": True, "reason": text()}],
        "partners": partners, "opened_by": "officer.a", "late_replies": [], "chased": [],
        "suggested_brag": "amber", "initial_brag": "amber",
    }
    decision = {"decision_id": "d1", "outcome": "early_help", "rationale": text(),
                "decided_by": "manager.b", "decided_at": "2026-11-02T09:00:00Z"}
    contact = {"contact_id": "c1", "reason": text(),
               "referrer": {"name": referrer, "organisation": "Quillsby Primary",
                            "email": "ref@example.org", "phone": "01632 960123"}}
    return full_record(summary, decision, contact), referrer


policies = st.builds(
    ServicePolicy,
    service_id=st.just("early-help"), name=st.just("Early Help"),
    categories=st.frozensets(st.sampled_from(CATEGORIES)),
    dissemination=st.frozensets(st.sampled_from(LEVELS), min_size=1),
)


@settings(max_examples=300, deadline=None)
@given(records(), policies)
def test_a_view_is_the_full_record_with_things_removed(record: tuple[dict[str, Any], str],
                                                       policy: ServicePolicy) -> None:
    """Every view's content is a sub-structure of the full record: nothing added or rewritten."""
    full, _ = record
    assert is_substructure(redact(full, policy), full)


@settings(max_examples=300, deadline=None)
@given(records(), policies)
def test_a_view_never_carries_the_referrer_identity(record: tuple[dict[str, Any], str],
                                                    policy: ServicePolicy) -> None:
    """No string in a view holds the referrer's name (nor their e-mail or phone), wherever the
    name was written in the full record; the referrer block itself never travels."""
    full, referrer = record
    view = make_view(full, policy, view_id="v1", summary_sha256="0" * 64,
                     issued_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
    texts = list(strings_in(view))
    for secret in (referrer, "ref@example.org", "01632 960123"):
        assert not any(secret.casefold() in t.casefold() for t in texts)
    assert not any(part in t.split() for part in referrer.split() for t in texts if len(t.split()) > 1)
    assert "referrer" not in json.dumps(view["content"]["contact"])


@settings(max_examples=300, deadline=None)
@given(records(), policies)
def test_no_mash_only_finding_or_category_outside_need_ever_leaves(
    record: tuple[dict[str, Any], str], policy: ServicePolicy
) -> None:
    """Findings in a view are in the service's categories and at a level it may receive; mash_only
    never, even when a configuration lists it; no partner's own signed reply, no gate internals."""
    full, _ = record
    content = redact(full, policy)
    for partner in content["summary"]["partners"]:
        assert "signed_reply" not in partner
        assert set(partner["categories_requested"]) <= policy.categories
        for finding in partner["findings"]:
            assert finding["category"] in policy.categories
            assert finding["dissemination"] in policy.dissemination - {"mash_only"}
    assert "gate_decisions" not in content["summary"] and "opened_by" not in content["summary"]
    assert "approved_by" not in content["summary"]["consent"]


@settings(max_examples=300, deadline=None)
@given(records(), policies, st.frozensets(st.sampled_from(CATEGORIES)))
def test_views_are_monotone_in_the_categories_allowed(
    record: tuple[dict[str, Any], str], policy: ServicePolicy, more: frozenset[str]
) -> None:
    """Allowing a service more categories only ever adds to its view: view(A) ⊑ view(A ∪ B)."""
    full, _ = record
    wider = ServicePolicy(policy.service_id, policy.name, policy.categories | more, policy.dissemination)
    assert is_substructure(redact(full, policy), redact(full, wider))


def test_a_finding_within_need_and_summary_safe_is_kept_whole() -> None:
    """Redaction is not over-eager: a summary-safe finding in the service's categories arrives
    unchanged, with its partner's BRAG rationale when nothing of that partner was withheld."""
    finding = {"category": "education.attendance", "date": "2026-10-01", "summary": "Attendance 71%",
               "source_system": "MIS", "source_reference": "A-1", "sos_domain": "worry",
               "dissemination": "summary_safe", "match": {"subject_ref": "S1"}}
    summary = {"enquiry_id": "e1", "summary_id": "s1", "partners": [{
        "partner_id": "education", "categories_requested": ["education.attendance"],
        "outcome": "findings", "brag": {"rating": "amber", "rationale": "Persistent absence"},
        "findings": [finding], "signed_reply": "x.y.z"}]}
    policy = ServicePolicy("early-help", "EH", frozenset({"education.attendance"}))
    content = redact(full_record(summary, None, None), policy)
    partner = content["summary"]["partners"][0]
    assert partner["findings"] == [finding]
    assert partner["brag"] == {"rating": "amber", "rationale": "Persistent absence"}
    mixed = {**summary, "partners": [{**summary["partners"][0],
                                      "findings": [finding, {**finding, "dissemination": "mash_only"}]}]}
    partner = redact(full_record(mixed, None, None), policy)["summary"]["partners"][0]
    assert partner["findings"] == [finding] and partner["brag"] == {"rating": "amber"}


def test_substructure_check_can_fail() -> None:
    """The oracle itself refuses additions, rewrites and reordering."""
    whole = {"a": [1, 2, 3], "b": {"c": "x"}}
    assert is_substructure({"a": [1, 3]}, whole)
    assert not is_substructure({"a": [3, 1]}, whole)
    assert not is_substructure({"b": {"c": "y"}}, whole)
    assert not is_substructure({"d": 1}, whole)
    assert not is_substructure({"a": [True]}, {"a": [1]})


def test_the_decision_rationale_travels_only_when_nothing_was_withheld() -> None:
    """A service that sees every finding gets the manager's rationale; when a finding is withheld
    (a MASH-only one, from everybody; one outside its categories, from that service) the service
    gets the outcome without the rationale, which may rest on it."""
    safe = {"category": "education.attendance", "dissemination": "summary_safe", "summary": "71%"}
    police = {"category": "police.incidents", "dissemination": "summary_safe", "summary": "Incident"}
    def summary(*findings: dict) -> dict:
        return {"partners": [{"partner_id": "p", "categories_requested": ["education.attendance",
                                                                          "police.incidents"],
                              "findings": list(findings)}]}
    decision = {"decision_id": "d1", "outcome": "early_help", "rationale": "Absence and the incident"}
    csc = ServicePolicy("csc", "CSC", frozenset({"education.attendance", "police.incidents"}))
    early_help = ServicePolicy("early-help", "EH", frozenset({"education.attendance"}))
    kept = redact(full_record(summary(safe, police), decision, None), csc)
    assert kept["decision"]["rationale"] == "Absence and the incident"
    mash_only = redact(full_record(summary(safe, {**police, "dissemination": "mash_only"}), decision, None), csc)
    assert "rationale" not in mash_only["decision"]
    outside = redact(full_record(summary(safe, police), decision, None), early_help)
    assert outside["decision"] == {"decision_id": "d1", "outcome": "early_help"}
