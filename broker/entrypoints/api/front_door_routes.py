"""HTTP routes of the front door: contacts, screening, the enquiry from a contact, the signed
decision, the referrer's feedback and notifications to allocated workers.

Installed by `install_front_door(app)` (app.py), which also maps the contact state machine's
refusals to 409 and "no such contact" to 404 (audited like every denial).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from broker.adapters.db.mapping import consent_to_json, subject_to_json
from broker.bootstrap import Broker
from broker.domain.access import Principal
from broker.domain.brag import Brag
from broker.domain.consent import ConsentDecision, ConsentStatus
from broker.domain.contact import Contact, ContactConflict, Referrer
from broker.domain.contact_retention import ContactPurged
from broker.domain.decision import Outcome
from broker.domain.screening import SCALE_MEANING, SignsOfSafety
from broker.domain.subject import Subject
from broker.entrypoints.api.deps import BrokerDep, PrincipalDep
from broker.entrypoints.api.routes import ERRORS
from broker.entrypoints.api.schemas import ConsentIn, Problem, SubjectIn, _In
from broker.service.front_door import (
    ContactView,
    DecisionView,
    RecordContact,
)

router = APIRouter(tags=["front door"])

FRONT_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": Problem, "description": "No such contact"},
    409: {"model": Problem, "description": "The contact's state does not allow this now (the reason says why)"},
    410: {"model": Problem, "description": "Purged at the end of its retention period (with the decision's SHA-256)"},
}

ContactId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
BragName = Literal["blue", "green", "amber", "red"]
OutcomeName = Literal[
    "section_17_assessment", "section_47_strategy_discussion", "early_help", "supporting_families",
    "universal_services_advice", "no_further_action",
]
Short = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=4000)]


# --- request bodies ----------------------------------------------------------------------------


class ReferrerIn(_In):
    name: Short
    role: Short = Field(description="e.g. Designated Safeguarding Lead, GP, neighbour")
    organisation: Short = Field(description="school, practice, agency, or 'member of the public'")
    phone: Annotated[str, Field(max_length=24, pattern=r"^\+?[0-9 ()-]{6,24}$")] | None = None
    email: Annotated[str, Field(max_length=320, pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")] | None = None


class ContactCreate(_In):
    referrer: ReferrerIn = Field(description="confidential from the family; never shared with partners")
    reason: LongText
    subjects: Annotated[list[SubjectIn], Field(min_length=1, max_length=20)]
    received_at: AwareDatetime | None = Field(default=None, description="when the contact arrived (default: now)")
    consent: ConsentIn | None = Field(default=None, description="consent as the referrer reported it, if known")


class SignsOfSafetyIn(_In):
    worries: LongText = Field(description="What are we worried about?")
    working_well: LongText = Field(description="What's working well?")
    needs_to_happen: LongText = Field(description="What needs to happen?")
    scale: Annotated[int, Field(ge=0, le=10, strict=True, description=SCALE_MEANING)]


class ProposalIn(_In):
    brag: BragName
    signs_of_safety: SignsOfSafetyIn


class SanctionIn(_In):
    brag: BragName | None = Field(default=None, description="omit to sanction the proposed rating")
    signs_of_safety: SignsOfSafetyIn | None = Field(
        default=None, description="required when the manager screens a contact no officer proposed")
    reason: LongText | None = Field(default=None, description="required when sanctioning another rating")


class ReratingIn(_In):
    to: BragName
    reason: LongText
    expected_from: BragName | None = Field(default=None, description="the rating you saw (409 if it changed)")


class CloseIn(_In):
    advice: LongText = Field(description="the universal-services advice given (signposting)")


class EnquiryFromContactIn(_In):
    consent: ConsentIn | None = Field(
        default=None, description="the consent decision as it stands now (default: the one recorded with the contact)")
    categories: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)] | None = None


class DecisionIn(_In):
    outcome: OutcomeName
    rationale: Annotated[str, Field(min_length=1, max_length=8000)]


class FeedbackGivenIn(_In):
    method: Literal["phone", "email", "letter", "in_person", "secure_message"]


# --- responses ---------------------------------------------------------------------------------


class SignsOfSafetyRead(BaseModel):
    worries: str
    working_well: str
    needs_to_happen: str
    scale: int
    scale_meaning: str = SCALE_MEANING


class ProposalRead(BaseModel):
    brag: str
    signs_of_safety: SignsOfSafetyRead
    proposed_by: str
    proposed_at: dt.datetime


class SanctionRead(BaseModel):
    brag: str
    sanctioned_by: str
    sanctioned_at: dt.datetime
    as_proposed: bool
    signs_of_safety: SignsOfSafetyRead | None
    reason: str | None


class ReratingRead(BaseModel):
    from_brag: str
    to_brag: str
    reason: str
    by: str
    at: dt.datetime


class DueRead(BaseModel):
    at: dt.datetime
    basis: str = Field(description="wall_clock | working_hours | out_of_hours (red runs out of hours)")
    outside_working_hours: bool


class WorkerRead(BaseModel):
    worker_id: str
    worker_name: str
    team: str
    case_id: str | None
    subject_ref: str
    matched_by: str


class ConsentCheckRead(BaseModel):
    at: dt.datetime
    by: str
    passed: bool
    reason: str
    status: str | None
    enquiry_id: str | None


class ContactRead(BaseModel):
    contact_id: str
    authority: str
    state: str
    received_at: dt.datetime
    recorded_at: dt.datetime
    recorded_by: str
    referrer: dict[str, Any] | None = Field(description="null when the caller may not see who referred")
    reason: str
    subjects: list[dict[str, Any]]
    consent: dict[str, Any] | None
    brag: str | None
    proposal: ProposalRead | None
    sanction: SanctionRead | None
    reratings: list[ReratingRead]
    due: DueRead | None
    overdue: bool
    met_timescale: bool | None
    allocated_worker: WorkerRead | None
    universal_advice: str | None
    closed_at: dt.datetime | None
    closed_by: str | None
    enquiry_id: str | None
    enquiry_href: str | None
    consent_checks: list[ConsentCheckRead]
    decision_id: str | None
    decided_at: dt.datetime | None
    notifications: list[dict[str, Any]]


class ContactListItem(BaseModel):
    contact_id: str
    child: dict[str, str | None] | None = Field(description="the child's name and date of birth (MASH staff only)")
    state: str
    brag: str | None
    proposed_brag: str | None
    received_at: dt.datetime
    recorded_by: str
    due_at: dt.datetime | None
    due_basis: str | None
    overdue: bool
    enquiry_id: str | None
    allocated_worker_id: str | None
    decided_at: dt.datetime | None
    closed_at: dt.datetime | None
    purged_at: dt.datetime | None = Field(
        None, description="personal data purged at the end of its retention period (GET answers 410)")


class ContactList(BaseModel):
    items: list[ContactListItem]
    next_before: dt.datetime | None


class EnquiryFromContactRead(BaseModel):
    contact_id: str
    enquiry_id: str
    enquiry_state: str
    refusal_reason: str | None
    consent_passed: bool
    consent_reason: str
    href: str


class DecisionRead(BaseModel):
    decision_id: str
    contact_id: str
    enquiry_id: str | None
    summary_id: str | None
    summary_sha256: str | None
    brag: str | None
    outcome: str
    outcome_label: str
    rationale: str
    decided_by: str
    decided_at: dt.datetime
    verified: bool
    problems: list[str]
    kid: str
    jws: str
    jws_sha256: str
    payload: dict[str, Any]


class FeedbackRead(BaseModel):
    contact_id: str
    outcome: str
    outcome_label: str
    message: str
    due_at: dt.datetime | None
    overdue: bool
    given_at: dt.datetime | None
    given_by: str | None
    method: str | None


class NotificationRead(BaseModel):
    notification_id: str
    recipient: str
    kind: str
    contact_id: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    body: dict[str, Any]


# --- mapping -----------------------------------------------------------------------------------


def _sos(sos: SignsOfSafety | None) -> SignsOfSafetyRead | None:
    if sos is None:
        return None
    return SignsOfSafetyRead(worries=sos.worries, working_well=sos.working_well,
                             needs_to_happen=sos.needs_to_happen, scale=sos.scale)


def _contact_read(view: ContactView, now: dt.datetime) -> ContactRead:
    c: Contact = view.contact
    referrer = None
    if view.referrer_visible:
        r = c.referrer
        referrer = {"name": r.name, "role": r.role, "organisation": r.organisation, "phone": r.phone, "email": r.email}
    w = c.allocated_worker
    return ContactRead(
        contact_id=c.contact_id, authority=c.authority, state=c.state.value, received_at=c.received_at,
        recorded_at=c.recorded_at, recorded_by=c.recorded_by, referrer=referrer, reason=c.reason,
        subjects=[{k: v for k, v in subject_to_json(s).items() if v is not None} for s in c.subjects],
        consent=consent_to_json(c.consent),
        brag=c.brag.value if c.brag else None,
        proposal=ProposalRead(brag=c.proposal.brag.value, signs_of_safety=_sos(c.proposal.rationale),  # type: ignore[arg-type]
                              proposed_by=c.proposal.proposed_by, proposed_at=c.proposal.proposed_at)
        if c.proposal else None,
        sanction=SanctionRead(brag=c.sanction.brag.value, sanctioned_by=c.sanction.sanctioned_by,
                              sanctioned_at=c.sanction.sanctioned_at, as_proposed=c.sanction.as_proposed,
                              signs_of_safety=_sos(c.sanction.rationale), reason=c.sanction.reason)
        if c.sanction else None,
        reratings=[ReratingRead(from_brag=r.from_brag.value, to_brag=r.to_brag.value, reason=r.reason, by=r.by,
                                at=r.at) for r in c.reratings],
        due=DueRead(at=c.due.at, basis=c.due.basis, outside_working_hours=c.due.outside_working_hours)
        if c.due else None,
        overdue=c.overdue(now), met_timescale=c.met_timescale(),
        allocated_worker=WorkerRead(worker_id=w.worker_id, worker_name=w.worker_name, team=w.team,
                                    case_id=w.case_id, subject_ref=w.subject_ref, matched_by=w.matched_by)
        if w else None,
        universal_advice=c.universal_advice, closed_at=c.closed_at, closed_by=c.closed_by,
        enquiry_id=c.enquiry_id, enquiry_href=f"/enquiries/{c.enquiry_id}" if c.enquiry_id else None,
        consent_checks=[ConsentCheckRead(at=k.at, by=k.by, passed=k.passed, reason=k.reason,
                                         status=k.consent.status.value if k.consent else None,
                                         enquiry_id=k.enquiry_id) for k in c.consent_checks],
        decision_id=c.decision_id, decided_at=c.decided_at,
        notifications=[{"notification_id": n.notification_id, "recipient": n.recipient, "kind": n.kind,
                        "created_at": n.created_at, "delivered_at": n.delivered_at} for n in view.notifications],
    )


def _consent(body: ConsentIn | None) -> ConsentDecision | None:
    if body is None:
        return None
    data = body.model_dump()
    return ConsentDecision(**{**data, "status": ConsentStatus(data["status"])})


def _sos_in(body: SignsOfSafetyIn | None) -> SignsOfSafety | None:
    return SignsOfSafety(**body.model_dump()) if body is not None else None


def _decision_read(view: DecisionView) -> DecisionRead:
    d = view.decision
    return DecisionRead(
        decision_id=d.decision_id, contact_id=d.contact_id, enquiry_id=d.enquiry_id, summary_id=d.summary_id,
        summary_sha256=d.summary_sha256, brag=d.brag.value if d.brag else None, outcome=d.outcome.value,
        outcome_label=d.outcome.label, rationale=d.rationale, decided_by=d.decided_by, decided_at=d.decided_at,
        verified=view.verified, problems=view.problems, kid=view.kid, jws=view.jws, jws_sha256=view.jws_sha256,
        payload=view.payload,
    )


async def _contact(broker: Broker, principal: Principal, contact_id: str) -> ContactRead:
    return _contact_read(await broker.front_door.read_contact(contact_id, actor=principal), broker.clock.now())


# --- routes ------------------------------------------------------------------------------------


@router.post("/contacts", status_code=201, response_model=ContactRead, responses=FRONT_ERRORS,
             summary="Record a contact")
async def create_contact(
    body: ContactCreate, broker: BrokerDep, principal: PrincipalDep, response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> ContactRead:
    """Record a contact (screening officer or manager). The child is checked against the case
    system first: with an allocated social worker the contact goes to that worker (a notification)
    and never becomes a MASH enquiry (state `routed_to_allocated_worker`)."""
    r = body.referrer
    command = RecordContact(
        referrer=Referrer(name=r.name, role=r.role, organisation=r.organisation, phone=r.phone, email=r.email),
        reason=body.reason, subjects=tuple(Subject.create(**s.model_dump()) for s in body.subjects),
        actor=principal, received_at=body.received_at, consent=_consent(body.consent),
        idempotency_key=idempotency_key,
    )
    recorded = await broker.front_door.record_contact(command)
    response.headers["Location"] = f"/contacts/{recorded.contact_id}"
    if recorded.replayed:
        response.status_code = 200
    return await _contact(broker, principal, recorded.contact_id)


@router.get("/contacts", response_model=ContactList, responses=FRONT_ERRORS, summary="The front-door queue")
async def list_contacts(
    broker: BrokerDep, principal: PrincipalDep,
    state: Annotated[str | None, Query(pattern="^(received|routed_to_allocated_worker|awaiting_sanction|screened|"
                                                "closed_universal|enquiry_opened|decided)$")] = None,
    brag: Annotated[BragName | None, Query()] = None,
    overdue: Annotated[bool, Query(description="only open contacts past their due time")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[AwareDatetime | None, Query(description="page: received before this time")] = None,
) -> ContactList:
    """Contacts, newest received first, with state, rating, due time and whether overdue."""
    rows = await broker.front_door.list_contacts(actor=principal, state=state, brag=brag, overdue=overdue,
                                                 limit=limit, before=before)
    now = broker.clock.now()
    items = [
        ContactListItem(
            contact_id=r.contact_id, child=r.child, state=r.state, brag=r.brag, proposed_brag=r.proposed_brag,
            received_at=r.received_at, recorded_by=r.recorded_by, due_at=r.due_at, due_basis=r.due_basis,
            overdue=r.overdue(now), enquiry_id=r.enquiry_id, allocated_worker_id=r.allocated_worker_id,
            decided_at=r.decided_at, closed_at=r.closed_at, purged_at=r.purged_at,
        )
        for r in rows
    ]
    return ContactList(items=items, next_before=items[-1].received_at if len(items) == limit else None)


@router.get("/contacts/{contact_id}", response_model=ContactRead, responses=FRONT_ERRORS, summary="One contact")
async def get_contact(contact_id: ContactId, broker: BrokerDep, principal: PrincipalDep) -> ContactRead:
    """The contact, its screening history, due time and links (the referrer only for MASH staff
    and the allocated worker)."""
    return await _contact(broker, principal, contact_id)


@router.post("/contacts/{contact_id}/proposal", response_model=ContactRead, responses=FRONT_ERRORS,
             summary="Propose a BRAG rating (Signs of Safety)")
async def propose(contact_id: ContactId, body: ProposalIn, broker: BrokerDep, principal: PrincipalDep) -> ContactRead:
    """A screening officer proposes a rating with the Signs of Safety rationale."""
    await broker.front_door.propose_brag(contact_id, Brag(body.brag), _sos_in(body.signs_of_safety),  # type: ignore[arg-type]
                                         actor=principal)
    return await _contact(broker, principal, contact_id)


@router.post("/contacts/{contact_id}/sanction", response_model=ContactRead, responses=FRONT_ERRORS,
             summary="Sanction the rating (manager)")
async def sanction(contact_id: ContactId, body: SanctionIn, broker: BrokerDep, principal: PrincipalDep) -> ContactRead:
    """The manager sanctions the proposed rating, or another with a reason (a re-rating), or
    screens an unproposed contact with their own Signs of Safety rationale. Sets the due time."""
    await broker.front_door.sanction(contact_id, actor=principal, brag=Brag(body.brag) if body.brag else None,
                                     rationale=_sos_in(body.signs_of_safety), reason=body.reason)
    return await _contact(broker, principal, contact_id)


@router.post("/contacts/{contact_id}/rerating", response_model=ContactRead, responses=FRONT_ERRORS,
             summary="Re-rate (manager, with a reason)")
async def rerating(contact_id: ContactId, body: ReratingIn, broker: BrokerDep, principal: PrincipalDep) -> ContactRead:
    """Change the rating with a reason; the due time is recomputed from receipt."""
    await broker.front_door.rerate(contact_id, to=Brag(body.to), reason=body.reason, actor=principal,
                                   expected_from=Brag(body.expected_from) if body.expected_from else None)
    return await _contact(broker, principal, contact_id)


@router.post("/contacts/{contact_id}/close", response_model=ContactRead, responses=FRONT_ERRORS,
             summary="Close a blue contact with universal-services advice")
async def close(contact_id: ContactId, body: CloseIn, broker: BrokerDep, principal: PrincipalDep) -> ContactRead:
    """Blue only: records the advice as a signed decision (universal_services_advice) and the
    referrer's feedback."""
    await broker.front_door.close_blue(contact_id, advice=body.advice, actor=principal)
    return await _contact(broker, principal, contact_id)


@router.post("/contacts/{contact_id}/enquiry", status_code=201, response_model=EnquiryFromContactRead,
             responses=FRONT_ERRORS, summary="Open the enquiry from a screened contact (manager)")
async def open_enquiry(
    contact_id: ContactId, body: EnquiryFromContactIn, request: Request, broker: BrokerDep,
    principal: PrincipalDep, response: Response,
) -> EnquiryFromContactRead:
    """Consent is checked again now and recorded on the contact. A refused gate is answered 201
    with `enquiry_state: refused` and its reason (the contact stays screened); a dispatched
    enquiry carries the contact's rating and is linked to it (Location: the enquiry)."""
    too_soon = request.app.state.open_rate.take(principal.subject)
    if too_soon:
        raise HTTPException(429, "too many enquiries opened; try again later",
                            headers={"Retry-After": str(int(too_soon))})
    wait = broker.accepting()
    if wait:
        raise HTTPException(503, "the message broker is refusing new messages (queues full); try again later",
                            headers={"Retry-After": str(max(1, round(wait)))})
    result = await broker.front_door.open_enquiry(
        contact_id, actor=principal, consent=_consent(body.consent),
        categories=frozenset(body.categories) if body.categories is not None else None,
    )
    href = f"/enquiries/{result.enquiry_id}"
    response.headers["Location"] = href
    return EnquiryFromContactRead(
        contact_id=contact_id, enquiry_id=result.enquiry_id, enquiry_state=result.enquiry_state.value,
        refusal_reason=result.refusal_reason, consent_passed=result.consent_passed,
        consent_reason=result.consent_reason, href=href,
    )


@router.post("/contacts/{contact_id}/decision", status_code=201, response_model=DecisionRead,
             responses=FRONT_ERRORS, summary="Record the decision (manager; signed)")
async def decide(contact_id: ContactId, body: DecisionIn, broker: BrokerDep, principal: PrincipalDep,
                 response: Response) -> DecisionRead:
    """The outcome and rationale, signed by the broker, naming the enquiry summary it was made
    on; the referrer's feedback (outcome only) becomes due."""
    await broker.front_door.record_decision(contact_id, outcome=Outcome(body.outcome), rationale=body.rationale,
                                            actor=principal)
    response.headers["Location"] = f"/contacts/{contact_id}/decision"
    view = await broker.front_door.read_decision(contact_id, actor=principal, jwks=broker.signer.jwks())
    return _decision_read(view)


@router.get("/contacts/{contact_id}/decision", response_model=DecisionRead,
            responses={**FRONT_ERRORS, 200: {"content": {"application/jose": {"schema": {"type": "string"}}}}},
            summary="The signed decision, verified")
async def get_decision(contact_id: ContactId, request: Request, broker: BrokerDep, principal: PrincipalDep) -> Any:
    """`Accept: application/jose` gives the compact JWS; otherwise the record with whether the
    signature verifies against the broker's keys and the signed payload matches the record."""
    view = await broker.front_door.read_decision(contact_id, actor=principal, jwks=broker.signer.jwks())
    if "application/jose" in request.headers.get("accept", ""):
        return Response(view.jws, media_type="application/jose")
    return _decision_read(view)


def _feedback_read(feedback: Any, now: dt.datetime) -> FeedbackRead:
    return FeedbackRead(**feedback.view(), due_at=feedback.due_at, overdue=feedback.overdue(now),
                        given_at=feedback.given_at, given_by=feedback.given_by, method=feedback.method)


@router.get("/contacts/{contact_id}/feedback", response_model=FeedbackRead, responses=FRONT_ERRORS,
            summary="What the referrer is told (outcome only)")
async def get_feedback(contact_id: ContactId, broker: BrokerDep, principal: PrincipalDep) -> FeedbackRead:
    """The outcome and a fixed message for the referrer, when it is due and whether it was given.
    Never partner information, never the rationale."""
    feedback = await broker.front_door.read_feedback(contact_id, actor=principal)
    return _feedback_read(feedback, broker.clock.now())


@router.post("/contacts/{contact_id}/feedback/given", response_model=FeedbackRead, responses=FRONT_ERRORS,
             summary="Record that the referrer was told")
async def feedback_given(contact_id: ContactId, body: FeedbackGivenIn, broker: BrokerDep,
                         principal: PrincipalDep) -> FeedbackRead:
    feedback = await broker.front_door.feedback_given(contact_id, method=body.method, actor=principal)
    return _feedback_read(feedback, broker.clock.now())


@router.get("/notifications", response_model=list[NotificationRead], responses=FRONT_ERRORS,
            summary="Notifications (contacts routed to allocated workers)")
async def notifications(
    broker: BrokerDep, principal: PrincipalDep,
    undelivered: Annotated[bool, Query(description="only those not yet fetched by their recipient")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationRead]:
    """A social worker's own notifications (delivered when first fetched); managers and auditors
    see all of them."""
    found = await broker.front_door.notifications(actor=principal, undelivered_only=undelivered, limit=limit)
    return [NotificationRead(notification_id=n.notification_id, recipient=n.recipient, kind=n.kind,
                             contact_id=n.contact_id, created_at=n.created_at, delivered_at=n.delivered_at,
                             body=n.body or {}) for n in found]  # {} once purged


def install_front_door(app: FastAPI) -> None:
    """Add the front door's routes and its error answers to the app."""
    app.include_router(router)

    @app.exception_handler(ContactConflict)
    async def conflict(_: Request, error: ContactConflict) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(ContactPurged)
    async def purged(_: Request, error: ContactPurged) -> JSONResponse:
        return JSONResponse({"detail": str(error), "purged_at": error.purged_at.isoformat(),
                             "decision_sha256": error.decision_sha256}, status_code=410)
