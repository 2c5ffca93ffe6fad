"""Domain values to and from JSON-ready rows (the ORM never touches the domain)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from broker.domain.brag import Brag
from broker.domain.consent import ConsentDecision, ConsentStatus
from broker.domain.replies import Finding, PartnerReply, SubjectMatch
from broker.domain.subject import Subject


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def subject_to_json(subject: Subject) -> dict[str, Any]:
    data = asdict(subject)
    data["date_of_birth"] = subject.date_of_birth.isoformat() if subject.date_of_birth else None
    return data


def subject_from_json(data: dict[str, Any]) -> Subject:
    dob = data.get("date_of_birth")
    return Subject(**{**data, "date_of_birth": dt.date.fromisoformat(dob) if dob else None})


def consent_to_json(consent: ConsentDecision | None) -> dict[str, Any] | None:
    if consent is None:
        return None
    data = asdict(consent)
    data["status"] = consent.status.value
    data["decided_at"] = consent.decided_at.isoformat()
    return data


def consent_from_json(data: dict[str, Any] | None) -> ConsentDecision | None:
    if data is None:
        return None
    return ConsentDecision(
        **{
            **data,
            "status": ConsentStatus(data["status"]),
            "decided_at": dt.datetime.fromisoformat(data["decided_at"]),
        }
    )


def reply_to_json(reply: PartnerReply) -> dict[str, Any]:
    return {
        "outcome": reply.outcome,
        "findings": [
            {**asdict(f), "date": f.date.isoformat()} for f in reply.findings
        ],
        "brag": reply.brag.value if reply.brag else None,
        "brag_rationale": reply.brag_rationale,
        "declined_reason": reply.declined_reason,
        "replied_at": reply.replied_at.isoformat(),
    }


def reply_from_json(
    data: dict[str, Any], *, request_id: str, enquiry_id: str, partner_id: str, jws: str
) -> PartnerReply:
    return PartnerReply(
        request_id=request_id,
        enquiry_id=enquiry_id,
        partner_id=partner_id,
        outcome=data["outcome"],
        findings=tuple(
            Finding(
                **{
                    **f,
                    "date": dt.date.fromisoformat(f["date"]),
                    "match": SubjectMatch(**f["match"]),
                }
            )
            for f in data["findings"]
        ),
        brag=Brag(data["brag"]) if data["brag"] else None,
        brag_rationale=data["brag_rationale"],
        declined_reason=data["declined_reason"],
        replied_at=dt.datetime.fromisoformat(data["replied_at"]),
        signed_reply=jws,
    )
