"""Composing the one summary a manager decides from.

The result is plain JSON-ready data; the signing adapter canonicalises it with
RFC 8785 and signs it. Composition depends only on the enquiry's recorded state,
never on the order in which replies arrived: partners are sorted by id and each
partner's findings keep the order the partner gave them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from broker.domain.enquiry import Enquiry, EnquiryState, PartnerRequest, RequestStatus
from broker.domain.replies import Finding

SUMMARY_TYPE = "mash.enquiry-summary"
SUMMARY_SCHEMA_VERSION = 1


def _time(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _finding(finding: Finding) -> dict[str, Any]:
    data = asdict(finding)
    data["date"] = finding.date.isoformat()
    return data


def _partner(request: PartnerRequest) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "partner_id": request.partner_id,
        "partner_name": request.partner_name,
        "request_id": request.request_id,
        "categories_requested": list(request.categories),
        "agreement": (
            {"id": request.agreement_id, "version": request.agreement_version}
            if request.agreement_id
            else None
        ),
    }
    reply = request.reply
    if request.purged_at is not None:
        entry.update(outcome="purged", reason="retention period of the agreement ended",
                     purged_at=_time(request.purged_at))
    elif request.status is RequestStatus.NOT_ASKED:
        entry.update(outcome="not_asked", reason=request.reason)
    elif request.status is RequestStatus.UNDELIVERABLE:
        entry.update(outcome="undeliverable", reason=request.reason)
    elif reply is None:
        entry.update(
            outcome="no_reply" if request.status is RequestStatus.NO_REPLY else "pending",
            reason=request.reason,
        )
    else:
        entry.update(
            outcome=reply.outcome,
            late=request.late,
            replied_at=_time(reply.replied_at),
            brag=(
                {"rating": reply.brag.value, "rationale": reply.brag_rationale}
                if reply.brag
                else None
            ),
            findings=[_finding(f) for f in reply.findings],
            declined_reason=reply.declined_reason,
            signed_reply=reply.signed_reply,
        )
    return entry


def compose_summary(
    enquiry: Enquiry,
    *,
    summary_id: str,
    version: int,
    issued_at: dt.datetime,
    supersedes: str | None = None,
) -> dict[str, Any]:
    """The summary payload for a closed enquiry (complete or partial)."""
    if enquiry.state not in (EnquiryState.COMPLETE, EnquiryState.PARTIAL):
        raise ValueError(f"enquiry {enquiry.enquiry_id} is {enquiry.state.value}, not closed")
    consent = enquiry.consent
    assert consent is not None  # a dispatched enquiry passed the consent gate
    partners = [_partner(r) for r in sorted(enquiry.requests, key=lambda r: r.partner_id)]
    agreements = sorted(
        {(r.agreement_id, r.agreement_version) for r in enquiry.requests if r.agreement_id},
    )
    suggested = enquiry.suggested_brag()
    return {
        "type": SUMMARY_TYPE,
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "summary_id": summary_id,
        "version": version,
        "supersedes": supersedes,
        "enquiry_id": enquiry.enquiry_id,
        "purpose": enquiry.purpose,
        "subjects": [
            {
                **{k: v for k, v in asdict(s).items() if v is not None},
                **({"date_of_birth": s.date_of_birth.isoformat()} if s.date_of_birth else {}),
            }
            for s in enquiry.subjects
        ],
        "consent": {
            "status": consent.status.value,
            "given_by": consent.given_by,
            "decided_by": consent.decided_by,
            "approved_by": consent.approved_by,
            "reason": consent.reason,
            "lawful_basis": consent.lawful_basis,
            "family_informed": consent.family_informed,
            "family_informed_reason": consent.family_informed_reason,
            "decided_at": _time(consent.decided_at),
        },
        "agreements": [{"id": a, "version": v} for a, v in agreements],
        "gate_decisions": [
            {"gate": g.gate, "partner_id": g.partner_id, "passed": g.passed, "reason": g.reason}
            for g in enquiry.gate_outcomes
        ],
        "initial_brag": enquiry.brag.value,
        "partners": partners,
        "suggested_brag": suggested.value if suggested else None,
        "completion": enquiry.completion,
        "state": enquiry.state.value,
        "late_replies": sorted(r.partner_id for r in enquiry.requests if r.late),
        "chased": sorted(r.partner_id for r in enquiry.requests if r.chased_at is not None),
        "opened_by": enquiry.opened_by,
        "opened_at": _time(enquiry.opened_at),
        "dispatched_at": _time(enquiry.dispatched_at),
        "deadline_at": _time(enquiry.deadline_at),
        "completed_at": _time(enquiry.closed_at),
        "issued_at": _time(issued_at),
    }
