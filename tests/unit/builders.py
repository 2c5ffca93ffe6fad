"""Plain builder functions for unit tests: valid values by default, override what matters."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from adapters.sdk import messages as wire
from agreements.model import Agreement, LawfulBasis, Party
from broker.domain.brag import DEFAULT_TIMESCALES, Brag, deadline_for
from broker.domain.consent import ConsentDecision, ConsentStatus
from broker.domain.enquiry import Enquiry, EnquiryState, PartnerRequest, RequestStatus
from broker.domain.replies import Finding, PartnerReply, SubjectMatch
from broker.domain.subject import Subject

PURPOSE = "mash-safeguarding-enquiry"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
DAY = T0.date()
# A syntactically valid Ed25519 public JWK (the value is never used to verify here).
PUBLIC_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "w4XfF3g50BVKtBkA8ihuwnaEBdr3ig3nM8B9vsehXpg"}

VALID_NHS = ("9434765919", "6541003238")
VALID_UPN = ("B801200005001", "H801200001001", "G80120000101A")


def ids(prefix: str) -> Callable[[], str]:
    """A callable returning prefix-1, prefix-2, ... on each call."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def nhs_check_digit(nine_digits: str) -> int:
    """The NHS mod-11 check digit of nine digits (weights 10..2); 10 means no valid number."""
    total = sum(int(d) * w for d, w in zip(nine_digits, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else check


# --- subjects and consent ---------------------------------------------------------------


def child(**overrides: Any) -> Subject:
    fields: dict[str, Any] = {
        "subject_ref": "c1",
        "role": "child",
        "given_name": "Amara",
        "family_name": "Okafor",
        "date_of_birth": dt.date(2016, 5, 4),
        "postcode": "QV3 7LP",
        "nhs_number": VALID_NHS[0],
    }
    fields.update(overrides)
    return Subject.create(**fields)


def household_member(ref: str = "m1", **overrides: Any) -> Subject:
    fields: dict[str, Any] = {
        "subject_ref": ref,
        "role": "household_member",
        "relationship": "mother",
        "given_name": "Grace",
        "family_name": "Okafor",
        "date_of_birth": dt.date(1988, 11, 20),
        "postcode": "QV3 7LP",
    }
    fields.update(overrides)
    return Subject.create(**fields)


def consent_given(**overrides: Any) -> ConsentDecision:
    fields: dict[str, Any] = {
        "status": ConsentStatus.GIVEN,
        "decided_by": "sw.jones",
        "decided_at": T0 - dt.timedelta(hours=1),
        "given_by": "parent",
        "family_informed": "yes",
    }
    fields.update(overrides)
    return ConsentDecision(**fields)


def consent_without(status: ConsentStatus = ConsentStatus.NOT_SOUGHT, **overrides: Any) -> ConsentDecision:
    """A refused / not sought / withdrawn decision with everything needed to proceed."""
    fields: dict[str, Any] = {
        "status": status,
        "decided_by": "sw.jones",
        "decided_at": T0 - dt.timedelta(hours=1),
        "approved_by": "mgr.patel",
        "reason": "telling the family would put the child at risk of significant harm",
        "lawful_basis": "UK-GDPR-6(1)(e)",
        "family_informed": "deferred",
        "family_informed_reason": "informing the family now could place the child at risk",
    }
    fields.update(overrides)
    return ConsentDecision(**fields)


# --- agreements ----------------------------------------------------------------------------


def party(partner_id: str, categories: Iterable[str] = (), *, name: str | None = None) -> Party:
    return Party(
        partner_id=partner_id,
        name=name or f"{partner_id.title()} Agency",
        organisation_type="other",
        public_jwk=dict(PUBLIC_JWK),
        categories=frozenset(categories),
        retention_days=365,
        signatory="Signatory",
    )


def agreement(
    agreement_id: str = "mash-tier2",
    version: str = "1.0",
    *,
    parties: Iterable[Party] = (),
    purposes: Iterable[str] = (PURPOSE,),
    effective_from: dt.date = dt.date(2025, 1, 1),
    effective_to: dt.date | None = None,
    status: str = "active",
) -> Agreement:
    parties = tuple(parties)
    return Agreement(
        agreement_id=agreement_id,
        version=version,
        title=f"{agreement_id} v{version}",
        purposes=frozenset(purposes),
        parties=parties,
        lawful_bases=(LawfulBasis("UK-GDPR-6(1)(e)", "Public task"),),
        effective_from=effective_from,
        effective_to=effective_to,
        review_due=effective_from + dt.timedelta(days=365),
        retention_days=730,
        status=status,
        owner="Sample Borough Council",
        data_categories={c: c for p in parties for c in p.categories},
    )


# --- enquiries and replies -------------------------------------------------------------------


def open_enquiry(
    *,
    enquiry_id: str = "enq-1",
    brag: Brag = Brag.AMBER,
    consent: ConsentDecision | None = None,
    subjects: tuple[Subject, ...] | None = None,
    purpose: str = PURPOSE,
    opened_at: dt.datetime = T0,
) -> Enquiry:
    return Enquiry(
        enquiry_id=enquiry_id,
        purpose=purpose,
        brag=brag,
        subjects=subjects if subjects is not None else (child(), household_member()),
        consent=consent if consent is not None else consent_given(),
        opened_by="sw.jones",
        opened_at=opened_at,
        deadline_at=deadline_for(brag, opened_at, DEFAULT_TIMESCALES),
    )


def pending_request(index: int, *, categories: tuple[str, ...] = ("cat.a",)) -> PartnerRequest:
    return PartnerRequest(
        request_id=f"req-{index}",
        partner_id=f"p{index}",
        partner_name=f"Partner {index}",
        status=RequestStatus.PENDING,
        categories=categories,
        agreement_id="mash-tier2",
        agreement_version="1.0",
    )


def not_asked_request(index: int, reason: str = "agreement x v1 ended on 2024-12-31") -> PartnerRequest:
    return PartnerRequest(
        request_id=f"req-{index}",
        partner_id=f"p{index}",
        partner_name=f"Partner {index}",
        status=RequestStatus.NOT_ASKED,
        reason=reason,
    )


def dispatched_enquiry(asked: int = 3, not_asked: int = 0, **kwargs: Any) -> Enquiry:
    """An enquiry dispatched to partners p1..p{asked}, with p{asked+1}.. not asked."""
    enquiry = open_enquiry(**kwargs)
    requests = [pending_request(i) for i in range(1, asked + 1)]
    requests += [not_asked_request(i) for i in range(asked + 1, asked + not_asked + 1)]
    enquiry.dispatch(requests, enquiry.opened_at + dt.timedelta(minutes=1))
    assert enquiry.state is EnquiryState.DISPATCHED
    return enquiry


def domain_finding(category: str = "cat.a", *, summary: str = "Incident at home address") -> Finding:
    return Finding(
        category=category,
        date=dt.date(2026, 1, 15),
        summary=summary,
        source_system="Records",
        source_reference="REF-1",
        match=SubjectMatch(subject_ref="c1", method="identifier", confidence=1.0, identifier_type="nhs_number"),
        sos_domain="worry",
        dissemination="summary_safe",
    )


def reply_to(
    enquiry: Enquiry,
    request: PartnerRequest,
    *,
    brag: Brag | None = None,
    outcome: str | None = None,
    replied_at: dt.datetime | None = None,
    findings: tuple[Finding, ...] | None = None,
    declined_reason: str | None = None,
) -> PartnerReply:
    """A reply to `request`: findings when a brag is given, otherwise no trace."""
    if outcome is None:
        outcome = "findings" if brag is not None else "no_trace"
    if findings is None:
        findings = (domain_finding(f"{request.partner_id}.cat"),) if outcome == "findings" else ()
    return PartnerReply(
        request_id=request.request_id,
        enquiry_id=enquiry.enquiry_id,
        partner_id=request.partner_id,
        outcome=outcome,  # type: ignore[arg-type]
        findings=findings,
        brag=brag,
        brag_rationale=f"{brag.value} because of what was found" if brag else None,
        declined_reason=declined_reason,
        replied_at=replied_at or enquiry.opened_at + dt.timedelta(minutes=30),
        signed_reply=f"signed.{request.request_id}.reply",
    )


# --- wire messages ---------------------------------------------------------------------------


def wire_match(**overrides: Any) -> wire.Match:
    fields: dict[str, Any] = {
        "subject_ref": "c1",
        "method": "identifier",
        "identifier_type": "nhs_number",
        "confidence": 1.0,
    }
    fields.update(overrides)
    return wire.Match(**fields)


def wire_finding(category: str = "police.incidents", **overrides: Any) -> wire.Finding:
    fields: dict[str, Any] = {
        "category": category,
        "date": dt.date(2026, 1, 15),
        "summary": "Attended a domestic incident at the home address",
        "source_system": "Niche RMS",
        "source_reference": "OCC-2026-0115",
        "match": wire_match(),
        "sos_domain": "worry",
    }
    fields.update(overrides)
    return wire.Finding(**fields)


def wire_brag(rating: str = "amber") -> wire.PartnerBrag:
    return wire.PartnerBrag(rating=rating, rationale="Repeat incidents in the last six months")  # type: ignore[arg-type]


def wire_request_fields(**overrides: Any) -> dict[str, Any]:
    """The fields of a valid wire PartnerRequest, as plain JSON-like data."""
    fields: dict[str, Any] = {
        "request_id": "req-1",
        "enquiry_id": "enq-1",
        "partner_id": "police",
        "agreement_id": "mash-tier2",
        "agreement_version": "3.0",
        "purpose": PURPOSE,
        "categories": ["police.incidents", "police.domestic_abuse"],
        "subjects": [
            {"subject_ref": "c1", "role": "child", "given_name": "Amara", "family_name": "Okafor",
             "date_of_birth": "2016-05-04", "postcode": "QV3 7LP", "nhs_number": VALID_NHS[0]},
            {"subject_ref": "m1", "role": "household_member", "given_name": "Grace",
             "family_name": "Okafor", "relationship": "mother"},
        ],
        "brag": "amber",
        "issued_at": "2026-03-02T09:00:00Z",
        "deadline": "2026-03-03T09:00:00Z",
    }
    fields.update(overrides)
    return fields
