"""The wire contract between the broker and partner adapters (schema version 1).

Every message body on the wire is a JSON envelope `{"v": 1, "type": ..., "jws": ...}`
whose `jws` is a compact JWS (Ed25519) over the RFC 8785 canonical JSON of one of
the payloads below. These models validate that payload: both sides treat the other
as untrusted input.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WIRE_VERSION = 1
REQUEST_TYPE = "mash.partner-request"
REPLY_TYPE = "mash.partner-reply"
REQUEST_JWS_TYP = "mash-partner-request+jws"
REPLY_JWS_TYP = "mash-partner-reply+jws"

Brag = Literal["blue", "green", "amber", "red"]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=2000)]
Category = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]

MAX_SUBJECTS = 20
MAX_FINDINGS = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Envelope(_Strict):
    """The JSON body of every message: version, type and the signed payload."""

    v: Literal[1]
    type: Literal["mash.partner-request", "mash.partner-reply"]
    jws: Annotated[str, Field(min_length=10, max_length=1_000_000)]


class RequestSubject(_Strict):
    """A person the partner is asked to search for."""

    subject_ref: Id
    role: Literal["child", "household_member"]
    relationship: ShortText | None = None
    given_name: ShortText
    family_name: ShortText
    date_of_birth: dt.date | None = None
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    address: ShortText | None = None
    postcode: Annotated[str, Field(max_length=10)] | None = None
    nhs_number: Annotated[str, Field(pattern=r"^\d{10}$")] | None = None
    upn: Annotated[str, Field(pattern=r"^[A-Z0-9]{13}$")] | None = None
    local_case_id: ShortText | None = None


class PartnerRequest(_Strict):
    """What the broker asks one partner, signed by the broker."""

    request_id: Id
    enquiry_id: Id
    partner_id: Id
    agreement_id: Id
    agreement_version: Annotated[str, Field(min_length=1, max_length=32)]
    purpose: Id
    categories: Annotated[list[Category], Field(min_length=1, max_length=64)]
    subjects: Annotated[list[RequestSubject], Field(min_length=1, max_length=MAX_SUBJECTS)]
    brag: Brag
    issued_at: dt.datetime
    deadline: dt.datetime

    @model_validator(mode="after")
    def _deadline_after_issue(self) -> PartnerRequest:
        if self.deadline <= self.issued_at:
            raise ValueError("deadline must be after issued_at")
        refs = [s.subject_ref for s in self.subjects]
        if len(set(refs)) != len(refs):
            raise ValueError("subject_ref values must be unique")
        return self


class Match(_Strict):
    """How a record was matched to a subject of the request."""

    subject_ref: Id
    method: Literal["identifier", "name_dob_postcode"]
    identifier_type: Literal["nhs_number", "upn", "local_case_id", "pnc_id"] | None = None
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]

    @model_validator(mode="after")
    def _identifier_named(self) -> Match:
        if self.method == "identifier" and self.identifier_type is None:
            raise ValueError("an identifier match must name the identifier_type")
        return self


class Finding(_Strict):
    """One necessary, relevant and proportionate piece of information."""

    category: Category
    date: dt.date
    summary: LongText
    source_system: ShortText
    source_reference: ShortText
    match: Match
    sos_domain: Literal["worry", "working_well", "complicating_factor"]
    dissemination: Literal["summary_safe", "mash_only", "owner_approval"] = "summary_safe"


class PartnerBrag(_Strict):
    """The partner's own BRAG rating of what it found, with its rationale."""

    rating: Brag
    rationale: LongText


class Answer(_Strict):
    """What a partner's search function returns; the SDK turns it into a signed reply."""

    outcome: Literal["findings", "no_trace", "declined"]
    findings: Annotated[list[Finding], Field(max_length=MAX_FINDINGS)] = []
    brag: PartnerBrag | None = None
    declined_reason: LongText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Answer:
        if self.outcome == "findings" and (not self.findings or self.brag is None):
            raise ValueError("an outcome of findings needs at least one finding and a brag")
        if self.outcome != "findings" and self.findings:
            raise ValueError(f"an outcome of {self.outcome} carries no findings")
        if self.outcome == "declined" and not self.declined_reason:
            raise ValueError("a declined outcome needs a declined_reason")
        if self.outcome != "declined" and self.declined_reason:
            raise ValueError("only a declined outcome carries a declined_reason")
        return self

    @classmethod
    def with_findings(cls, findings: list[Finding], brag: PartnerBrag) -> Answer:
        """Records were found."""
        return cls(outcome="findings", findings=findings, brag=brag)

    @classmethod
    def no_trace(cls) -> Answer:
        """The partner searched and holds nothing on any subject."""
        return cls(outcome="no_trace")

    @classmethod
    def declined(cls, reason: str) -> Answer:
        """The partner will not share, and says why."""
        return cls(outcome="declined", declined_reason=reason)


class PartnerReply(Answer):
    """The signed reply a partner sends, bound to its request and enquiry."""

    request_id: Id
    enquiry_id: Id
    partner_id: Id
    replied_at: dt.datetime
