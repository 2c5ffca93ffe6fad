"""What a partner said: findings, no trace, or a reasoned decline."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from broker.domain.brag import Brag

ReplyOutcome = Literal["findings", "no_trace", "declined"]
SosDomain = Literal["worry", "working_well", "complicating_factor"]
Dissemination = Literal["summary_safe", "mash_only", "owner_approval"]


@dataclass(frozen=True, slots=True)
class SubjectMatch:
    subject_ref: str
    method: Literal["identifier", "name_dob_postcode"]
    confidence: float
    identifier_type: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    category: str
    date: dt.date
    summary: str
    source_system: str
    source_reference: str
    match: SubjectMatch
    sos_domain: SosDomain
    dissemination: Dissemination


@dataclass(frozen=True, slots=True)
class PartnerReply:
    """A verified reply from a partner, with the compact JWS it arrived as."""

    request_id: str
    enquiry_id: str
    partner_id: str
    outcome: ReplyOutcome
    findings: tuple[Finding, ...]
    brag: Brag | None
    brag_rationale: str | None
    declined_reason: str | None
    replied_at: dt.datetime
    signed_reply: str
