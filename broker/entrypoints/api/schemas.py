"""HTTP request and response bodies (separate from the domain: the API is an edge)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Short = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SubjectIn(_In):
    subject_ref: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    role: Literal["child", "household_member"]
    relationship: Short | None = None
    given_name: Short
    family_name: Short
    date_of_birth: dt.date | None = None
    sex: Literal["female", "male", "other", "unknown"] = "unknown"
    address: Short | None = None
    postcode: Annotated[str, Field(max_length=10)] | None = None
    nhs_number: Annotated[str, Field(max_length=16)] | None = Field(
        default=None, description="10 digits with a valid mod-11 check digit; spaces allowed"
    )
    upn: Annotated[str, Field(max_length=16)] | None = Field(
        default=None, description="13-character Unique Pupil Number with a valid check letter"
    )
    local_case_id: Short | None = None


class ConsentIn(_In):
    status: Literal["given", "refused", "not_sought", "withdrawn"]
    decided_by: Short
    decided_at: AwareDatetime
    given_by: Short | None = Field(default=None, description="who gave or refused it: parent, carer, child")
    approved_by: Short | None = Field(default=None, description="the approving manager (required unless given)")
    reason: Text | None = None
    lawful_basis: Short | None = Field(default=None, description="e.g. UK-GDPR-6(1)(e)")
    family_informed: Literal["yes", "no", "deferred"] = "no"
    family_informed_reason: Text | None = None


class EnquiryCreate(_In):
    purpose: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")] | None = None
    brag: Literal["blue", "green", "amber", "red"]
    subjects: Annotated[list[SubjectIn], Field(min_length=1, max_length=20)]
    consent: ConsentIn | None = Field(
        default=None, description="the recorded consent decision; without one the enquiry is refused"
    )
    categories: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)] | None = Field(
        default=None, description="narrow the request to these data categories (NRP)"
    )


class GateRead(BaseModel):
    gate: str
    partner_id: str | None
    passed: bool
    reason: str


class PartnerRead(BaseModel):
    partner_id: str
    partner_name: str
    status: str
    outcome: str
    reason: str | None
    categories: list[str]
    agreement: dict[str, str] | None
    late: bool
    chased_at: dt.datetime | None
    replied_at: dt.datetime | None
    brag: str | None
    findings: int


class LatePartner(BaseModel):
    partner_id: str
    chased_at: dt.datetime
    waiting_s: float
    share_of_time_used: float
    deadline_in_s: float


class SummaryRef(BaseModel):
    summary_id: str
    version: int
    issued_at: dt.datetime
    supersedes: str | None
    href: str


class EnquiryRead(BaseModel):
    enquiry_id: str
    state: str
    purpose: str
    brag: str
    opened_by: str
    opened_at: dt.datetime
    deadline_at: dt.datetime
    dispatched_at: dt.datetime | None
    closed_at: dt.datetime | None
    completion: str | None
    refusal_reason: str | None
    suggested_brag: str | None
    at_risk_of_drift: bool
    late_partners: list[LatePartner]
    gate_decisions: list[GateRead]
    partners: list[PartnerRead]
    summaries: list[SummaryRef]
    rejected_messages: list[dict[str, Any]]


class EnquiryListItem(BaseModel):
    enquiry_id: str
    state: str
    brag: str
    purpose: str
    opened_at: dt.datetime
    deadline_at: dt.datetime
    closed_at: dt.datetime | None
    completion: str | None
    pending_partners: int


class EnquiryList(BaseModel):
    items: list[EnquiryListItem]
    next_before: dt.datetime | None


class SummaryRead(BaseModel):
    summary_id: str
    enquiry_id: str
    version: int
    supersedes: str | None
    issued_at: dt.datetime
    verified: bool
    kid: str
    jws: str
    payload: dict[str, Any]


class Problem(BaseModel):
    detail: str | list[dict[str, Any]]
