"""The MASH front door's use cases: contacts, the allocated-worker check, screening (Signs of
Safety proposal, sanction, re-rating), blue closure, the enquiry from a contact, the signed
decision and the referrer's feedback.

Each use case takes its collaborators as parameters (unit of work factory, clock, signer, ...),
authorizes first, runs in one transaction and appends its audit entries in it. `FrontDoor` binds
them to one broker (bootstrap.py: `broker.front_door`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from adapters.sdk.signing import SignatureInvalid, key_set, verify
from broker.adapters.db.contacts_repository import ContactRow, Notification
from broker.domain.access import (
    NoSuchContact,
    Principal,
    authorize_contact_list,
    authorize_contact_read,
    authorize_decision_read,
    authorize_feedback,
    authorize_manager_step,
    authorize_notifications,
    authorize_propose,
    authorize_record_contact,
    is_mash_staff as staff,
)
from broker.domain.brag import Brag
from broker.domain.consent import ConsentDecision
from broker.domain.contact import (
    ConsentCheck,
    Contact,
    ContactConflict,
    ContactState,
    InvalidContact,
    Referrer,
)
from broker.domain.contact_retention import ContactPurged
from broker.domain.decision import Decision, Outcome, ReferrerFeedback
from broker.domain.enquiry import EnquiryState
from broker.domain.screening import BragProposal, Rerating, Sanction, SignsOfSafety
from broker.domain.subject import Subject
from broker.domain.timescales import Authority, due_for_brag
from broker.service import front_door_audit as audit
from broker.service.front_door_ports import CaseSystem, FrontDoorUnitOfWorkFactory
from broker.service.open_enquiry import OpenEnquiry, Opened
from broker.service.ports import Clock, Signer

log = structlog.get_logger("mash.front_door")

DECISION_JWS_TYP = "mash-contact-decision+jws"
FEEDBACK_METHODS = ("phone", "email", "letter", "in_person", "secure_message")


# --- commands and results ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordContact:
    referrer: Referrer
    reason: str
    subjects: tuple[Subject, ...]
    actor: Principal
    received_at: dt.datetime | None = None  # default: now
    consent: ConsentDecision | None = None  # as the referrer reported it
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class ContactRecorded:
    contact_id: str
    state: ContactState
    allocated_worker_id: str | None
    notification_id: str | None
    replayed: bool


@dataclass(frozen=True, slots=True)
class ContactView:
    """A contact as the caller may see it: the referrer is None when they may not see it."""

    contact: Contact
    referrer_visible: bool
    overdue: bool
    notifications: list[Notification] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EnquiryFromContact:
    contact_id: str
    enquiry_id: str
    enquiry_state: EnquiryState
    refusal_reason: str | None
    consent_passed: bool
    consent_reason: str
    replayed: bool


@dataclass(frozen=True, slots=True)
class DecisionView:
    decision: Decision
    jws: str
    jws_sha256: str
    kid: str
    verified: bool  # the signature verifies with the broker's keys and the payload is the record
    problems: list[str]
    payload: dict[str, Any]


# --- helpers ----------------------------------------------------------------------------------


def _authority(authorities: Mapping[str, Authority], authority_id: str) -> Authority:
    try:
        return authorities[authority_id]
    except KeyError:
        raise ContactConflict(f"authority {authority_id!r} is not configured on this broker") from None


async def _load(uow: Any, contact_id: str, actor: Principal, action: str) -> Contact:
    contact = await uow.contacts.get(contact_id, for_update=True)
    if contact is None:
        raise NoSuchContact("no such contact", actor=actor.subject, action=action)
    return contact


# --- record a contact -------------------------------------------------------------------------


async def record_contact(
    command: RecordContact, *, uow_factory: FrontDoorUnitOfWorkFactory, case_system: CaseSystem,
    authority: Authority, clock: Clock, new_id: Callable[[], str],
) -> ContactRecorded:
    """Record a contact and check the child against the case system first: a child with an
    allocated social worker goes straight to that worker (a notification), and the contact can
    never become a MASH enquiry."""
    authorize_record_contact(command.actor)
    now = clock.now()
    contact = Contact.receive(
        contact_id=new_id(), authority=authority.authority_id, received_at=command.received_at or now,
        recorded_at=now, recorded_by=command.actor.subject, referrer=command.referrer, reason=command.reason,
        subjects=command.subjects, consent=command.consent,
    )
    if command.idempotency_key:
        async with uow_factory() as uow:
            existing = await uow.contacts.by_idempotency_key(command.idempotency_key)
            if existing is not None:
                stored = await uow.contacts.get(existing)
                assert stored is not None
                return ContactRecorded(existing, stored.state,
                                       stored.allocated_worker.worker_id if stored.allocated_worker else None,
                                       None, replayed=True)
    worker = await case_system.allocated_worker(contact.child)
    notification = None
    if worker is not None:
        contact.route_to_allocated_worker(worker)
        notification = Notification(
            notification_id=new_id(), recipient=worker.worker_id, kind="contact_routed",
            contact_id=contact.contact_id, created_at=now,
            body={
                "contact_id": contact.contact_id,
                "case_id": worker.case_id,
                "team": worker.team,
                "received_at": contact.received_at.isoformat(),
                "message": "A new contact about a child allocated to you has been routed to you by the "
                           "MASH; it will not be researched by the MASH.",
                "href": f"/contacts/{contact.contact_id}",
            },
        )
    async with uow_factory() as uow:
        await uow.contacts.add(contact, idempotency_key=command.idempotency_key)
        entries = [audit.contact_recorded(contact, command.actor.subject, now),
                   audit.allocation_checked(contact, worker, now)]
        if notification is not None and worker is not None:
            await uow.notifications.add(notification)
            entries.append(audit.contact_routed(contact, worker, notification.notification_id, now))
        await uow.audit.append(*entries)
        await uow.commit()
    log.info("contact_recorded", contact_id=contact.contact_id, state=contact.state.value,
             routed=worker is not None)
    return ContactRecorded(contact.contact_id, contact.state, worker.worker_id if worker else None,
                           notification.notification_id if notification else None, replayed=False)


# --- screening --------------------------------------------------------------------------------


async def propose_brag(
    contact_id: str, brag: Brag, rationale: SignsOfSafety, *, actor: Principal,
    uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock,
) -> Contact:
    """A screening officer proposes a rating with its Signs of Safety rationale."""
    authorize_propose(actor)
    now = clock.now()
    async with uow_factory() as uow:
        contact = await _load(uow, contact_id, actor, "propose_brag")
        contact.propose(BragProposal(brag=brag, rationale=rationale, proposed_by=actor.subject, proposed_at=now))
        await uow.contacts.save(contact)
        await uow.audit.append(audit.proposed(contact, brag, actor.subject, now))
        await uow.commit()
    return contact


async def sanction(
    contact_id: str, *, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock,
    authorities: Mapping[str, Authority], brag: Brag | None = None, rationale: SignsOfSafety | None = None,
    reason: str | None = None,
) -> Contact:
    """The manager sanctions the rating: as proposed (no `brag`, or the same), with another
    rating and a `reason` (recorded as a re-rating), or, with no proposal, with their own
    Signs of Safety `rationale`. The due time is set from receipt on the authority's calendar."""
    authorize_manager_step(actor, "sanction_rating")
    now = clock.now()
    async with uow_factory() as uow:
        contact = await _load(uow, contact_id, actor, "sanction_rating")
        chosen = brag or (contact.proposal.brag if contact.proposal else None)
        if chosen is None:
            raise ContactConflict("nothing to sanction: no rating was proposed; give the rating and your own "
                                  "Signs of Safety rationale")
        authority = _authority(authorities, contact.authority)
        due = due_for_brag(contact.received_at, chosen, authority.timescales, authority.calendar)
        as_proposed = contact.proposal is not None and chosen is contact.proposal.brag
        changed_from = contact.proposal.brag if contact.proposal and not as_proposed else None
        contact.sanction_rating(
            Sanction(brag=chosen, sanctioned_by=actor.subject, sanctioned_at=now, as_proposed=as_proposed,
                     rationale=rationale, reason=reason),
            due,
        )
        await uow.contacts.save(contact)
        await uow.audit.append(audit.sanctioned(contact, chosen, actor.subject, now, changed_from=changed_from))
        await uow.commit()
    return contact


async def rerate(
    contact_id: str, *, to: Brag, reason: str, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory,
    clock: Clock, authorities: Mapping[str, Authority], expected_from: Brag | None = None,
) -> Contact:
    """Change the rating with a reason (required); the due time is recomputed from receipt.
    `expected_from` guards against two managers re-rating at once (409 when it is stale)."""
    authorize_manager_step(actor, "rerate")
    now = clock.now()
    async with uow_factory() as uow:
        contact = await _load(uow, contact_id, actor, "rerate")
        current = contact.brag
        if current is None:
            raise ContactConflict(f"contact {contact_id} is {contact.state.value}: it has no sanctioned rating to change")
        if expected_from is not None and expected_from is not current:
            raise ContactConflict(f"the contact is rated {current.value}, not {expected_from.value}: reload and try again")
        authority = _authority(authorities, contact.authority)
        due = due_for_brag(contact.received_at, to, authority.timescales, authority.calendar)
        contact.rerate(Rerating(from_brag=current, to_brag=to, reason=reason, by=actor.subject, at=now), due)
        await uow.contacts.save(contact)
        await uow.audit.append(audit.rerated(contact, current, to, actor.subject, now))
        await uow.commit()
    return contact


# --- decisions (blue closure, decision on the summary or from screening) -----------------------


async def _sign_and_store(
    uow: Any, contact: Contact, decision: Decision, *, signer: Signer, authority: Authority,
    new_id: Callable[[], str], now: dt.datetime,
) -> tuple[str, ReferrerFeedback]:
    jws = signer.sign(decision.payload(), typ=DECISION_JWS_TYP)
    await uow.decisions.add(decision, jws=jws, kid=signer.kid)
    due = authority.feedback_due(now)
    feedback = ReferrerFeedback(
        feedback_id=new_id(), contact_id=contact.contact_id, decision_id=decision.decision_id,
        outcome=decision.outcome, created_at=now, due_at=due.at if due else None,
    )
    await uow.feedback.add(feedback)
    return jws, feedback


async def close_blue(
    contact_id: str, *, advice: str, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock,
    signer: Signer, authorities: Mapping[str, Authority], new_id: Callable[[], str],
) -> Decision:
    """Close a blue contact with universal-services advice: a signed decision (outcome
    universal_services_advice, the advice as its rationale) and the referrer's feedback."""
    authorize_manager_step(actor, "close_contact")
    now = clock.now()
    async with uow_factory() as uow:
        contact = await _load(uow, contact_id, actor, "close_contact")
        decision_id = new_id()
        contact.close_universal(advice, actor.subject, now, decision_id)
        decision = Decision(
            decision_id=decision_id, contact_id=contact_id, outcome=Outcome.UNIVERSAL_SERVICES_ADVICE,
            rationale=advice, decided_by=actor.subject, decided_at=now, brag=contact.brag,
        )
        _, feedback = await _sign_and_store(uow, contact, decision, signer=signer,
                                            authority=_authority(authorities, contact.authority),
                                            new_id=new_id, now=now)
        await uow.contacts.save(contact)
        await uow.audit.append(
            audit.closed_universal(contact, decision_id, actor.subject, now),
            audit.decision_recorded(contact, decision_id, decision.outcome.value, None, actor.subject, now),
            audit.feedback_due(contact, feedback.feedback_id, now),
        )
        await uow.commit()
    return decision


async def record_decision(
    contact_id: str, *, outcome: Outcome, rationale: str, actor: Principal,
    uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock, signer: Signer,
    authorities: Mapping[str, Authority], new_id: Callable[[], str],
    on_decided: Callable[[Any, Decision, Contact], Awaitable[Any]] | None = None,
) -> Decision:
    """The manager's decision, signed. On a contact that went to an enquiry it is made on the
    enquiry's latest signed summary (named by id and SHA-256), so the enquiry must have closed
    with one; a screened contact may be decided without an enquiry (e.g. NFA or Early Help)."""
    authorize_manager_step(actor, "record_decision")
    now = clock.now()
    async with uow_factory() as uow:
        contact = await _load(uow, contact_id, actor, "record_decision")
        summary_id = summary_sha256 = None
        if contact.state is ContactState.ENQUIRY_OPENED:
            assert contact.enquiry_id is not None
            latest = await uow.summaries.latest(contact.enquiry_id)
            if latest is None:
                raise ContactConflict(
                    f"enquiry {contact.enquiry_id} has no signed summary yet: decide on the summary once the "
                    "partners have replied or the deadline has passed"
                )
            if latest.purged_at is not None or not latest.jws:
                raise ContactConflict("the enquiry's summary was purged at the end of its retention period")
            summary_id = latest.summary_id
            summary_sha256 = latest.jws_sha256 or hashlib.sha256(latest.jws.encode()).hexdigest()
        decision_id = new_id()
        contact.decide(decision_id, now)
        decision = Decision(
            decision_id=decision_id, contact_id=contact_id, outcome=outcome, rationale=rationale,
            decided_by=actor.subject, decided_at=now, brag=contact.brag,
            enquiry_id=contact.enquiry_id if summary_id else None,
            summary_id=summary_id, summary_sha256=summary_sha256,
        )
        _, feedback = await _sign_and_store(uow, contact, decision, signer=signer,
                                            authority=_authority(authorities, contact.authority),
                                            new_id=new_id, now=now)
        await uow.contacts.save(contact)
        await uow.audit.append(
            audit.decision_recorded(contact, decision_id, outcome.value, summary_id, actor.subject, now),
            audit.feedback_due(contact, feedback.feedback_id, now),
        )
        if on_decided is not None:  # the receiving services' views, in this same transaction
            await on_decided(uow, decision, contact)
        await uow.commit()
    log.info("decision_recorded", contact_id=contact_id, decision_id=decision_id, outcome=outcome.value)
    return decision


# --- the enquiry from a contact -----------------------------------------------------------------


async def open_enquiry_from_contact(
    contact_id: str, *, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock,
    open_enquiry: Callable[[OpenEnquiry], Awaitable[Opened]], purpose: str,
    consent: ConsentDecision | None = None, categories: frozenset[str] | None = None,
    authorities: Mapping[str, Authority] | None = None,
) -> EnquiryFromContact:
    """The manager opens the enquiry from a screened (green, amber or red) contact.

    Consent is checked again now: the decision given here (or, without one, the one recorded
    with the contact) goes through the consent gate of `open_enquiry`, and the check is recorded
    on the contact whatever its result. A refused gate leaves the contact screened (the refused
    enquiry is kept, with its reason); a dispatched enquiry is linked to the contact and carries
    the contact's sanctioned rating. With `authorities`, the partners' deadline is the rating's
    timescale from now on the authority's working calendar (amber: 24 working hours), instead of
    the broker's wall-clock table. The enquiry's idempotency key is derived from the contact
    and the attempt, so a retry after a failure between the two transactions links the same
    enquiry instead of opening a second one.
    """
    authorize_manager_step(actor, "open_enquiry_from_contact")
    async with uow_factory() as uow:
        contact = await _load(uow, contact_id, actor, "open_enquiry_from_contact")
        contact.may_open_enquiry()
        attempt = len(contact.consent_checks)
    assert contact.brag is not None
    checked = consent or contact.consent
    deadline = None
    if authorities is not None:
        # Partners get the colour's timescale from now, on the authority's working calendar.
        authority = _authority(authorities, contact.authority)
        due = due_for_brag(clock.now(), contact.brag, authority.timescales, authority.calendar)
        deadline = due.at if due else None
    opened = await open_enquiry(OpenEnquiry(
        purpose=purpose, brag=contact.brag, subjects=contact.subjects, consent=checked, actor=actor,
        categories=categories, idempotency_key=f"contact:{contact_id}:{attempt}", deadline_at=deadline,
    ))
    now = clock.now()
    async with uow_factory() as uow:
        contact = await _load(uow, contact_id, actor, "open_enquiry_from_contact")
        enquiry = await uow.enquiries.get(opened.enquiry_id)
        assert enquiry is not None
        gate = next((g for g in enquiry.gate_outcomes if g.gate == "consent"), None)
        passed = bool(gate and gate.passed)
        reason = gate.reason if gate else "no consent gate recorded"
        if contact.enquiry_id == opened.enquiry_id or len(contact.consent_checks) > attempt:
            return EnquiryFromContact(contact_id, opened.enquiry_id, opened.state, opened.refusal_reason,
                                      passed, reason, replayed=True)
        contact.record_consent_check(ConsentCheck(at=now, by=actor.subject, passed=passed, reason=reason,
                                                  consent=checked, enquiry_id=opened.enquiry_id))
        entries = [audit.consent_checked(contact, passed, opened.enquiry_id, actor.subject, now)]
        if opened.state is not EnquiryState.REFUSED:
            contact.link_enquiry(opened.enquiry_id, now)
            entries.append(audit.enquiry_linked(contact, opened.enquiry_id, opened.state.value, actor.subject, now))
        await uow.contacts.save(contact)
        await uow.audit.append(*entries)
        await uow.commit()
    return EnquiryFromContact(contact_id, opened.enquiry_id, opened.state, opened.refusal_reason, passed, reason,
                              replayed=opened.replayed)


# --- reads ------------------------------------------------------------------------------------


async def read_contact(
    contact_id: str, *, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock,
) -> ContactView:
    """The contact (the referrer withheld from auditors); the read is audited."""
    now = clock.now()
    async with uow_factory() as uow:
        try:
            contact = await uow.contacts.get(contact_id)
        except ContactPurged as purged:  # 410 only to whoever may read the contact (else 404)
            authorize_contact_read(actor, contact_id, purged.allocated_worker_id)
            raise
        if contact is None:
            raise NoSuchContact("no such contact", actor=actor.subject, action="read_contact")
        worker = contact.allocated_worker.worker_id if contact.allocated_worker else None
        visible = authorize_contact_read(actor, contact_id, worker)
        notes = await uow.notifications.list(contact_id=contact_id)
        await uow.audit.append(audit.contact_read(contact_id, actor.subject, visible, now))
        await uow.commit()
    return ContactView(contact=contact, referrer_visible=visible, overdue=contact.overdue(now), notifications=notes)


async def list_contacts(
    *, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock, state: str | None = None,
    brag: str | None = None, overdue: bool = False, limit: int = 50, before: dt.datetime | None = None,
) -> list[ContactRow]:
    """The front-door queue: state, rating, due time; MASH staff also see the child's name."""
    authorize_contact_list(actor)
    async with uow_factory() as uow:
        return await uow.contacts.list(state=state, brag=brag, overdue_at=clock.now() if overdue else None,
                                       limit=limit, before=before, with_child=staff(actor))


async def read_decision(
    contact_id: str, *, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock,
    jwks: Mapping[str, Any],
) -> DecisionView:
    """The signed decision and its verification: the signature against the broker's keys, the
    payload against the stored record, the stored hash against the token."""
    authorize_decision_read(actor, contact_id)
    async with uow_factory() as uow:
        stored = await uow.decisions.for_contact(contact_id)
        if stored is None:
            if await uow.contacts.get(contact_id) is None:
                raise NoSuchContact("no such contact", actor=actor.subject, action="read_decision")
            raise ContactConflict(f"contact {contact_id} has no decision yet")
        await uow.audit.append(audit.decision_read(contact_id, actor.subject, clock.now()))
        await uow.commit()
    problems: list[str] = []
    payload: dict[str, Any] = {}
    try:
        payload = verify(stored.jws, key_set(jwks["keys"]), typ=DECISION_JWS_TYP)
    except SignatureInvalid as error:
        problems.append(f"signature: {error}")
    if payload:
        differing = stored.decision.matches(payload)
        if differing:
            problems.append(f"the stored record differs from the signed one in: {', '.join(differing)}")
    if hashlib.sha256(stored.jws.encode()).hexdigest() != stored.jws_sha256:
        problems.append("the stored token does not match its recorded SHA-256")
    return DecisionView(decision=stored.decision, jws=stored.jws, jws_sha256=stored.jws_sha256, kid=stored.kid,
                        verified=not problems, problems=problems, payload=payload)


async def read_feedback(
    contact_id: str, *, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory,
) -> ReferrerFeedback:
    authorize_feedback(actor, contact_id)
    async with uow_factory() as uow:
        feedback = await uow.feedback.for_contact(contact_id)
        if feedback is None:
            if await uow.contacts.get(contact_id) is None:
                raise NoSuchContact("no such contact", actor=actor.subject, action="read_feedback")
            raise ContactConflict(f"contact {contact_id} has no decision yet, so no feedback")
    return feedback


async def feedback_given(
    contact_id: str, *, method: str, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock,
) -> ReferrerFeedback:
    """Record that the referrer was told the outcome (and how)."""
    authorize_feedback(actor, contact_id, give=True)
    if method not in FEEDBACK_METHODS:
        raise InvalidContact(f"method must be one of {', '.join(FEEDBACK_METHODS)}")
    now = clock.now()
    async with uow_factory() as uow:
        feedback = await uow.feedback.for_contact(contact_id)
        if feedback is None:
            raise ContactConflict(f"contact {contact_id} has no feedback to give yet")
        if not await uow.feedback.mark_given(contact_id, at=now, by=actor.subject, method=method):
            raise ContactConflict("the referrer's feedback is already recorded as given")
        await uow.audit.append(audit.feedback_given(contact_id, method, actor.subject, now))
        await uow.commit()
        stored = await uow.feedback.for_contact(contact_id)
    assert stored is not None
    return stored


async def notifications_for(
    *, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock, undelivered_only: bool = False,
    limit: int = 100,
) -> list[Notification]:
    """A worker's notifications (marked delivered when they first fetch them); managers and
    auditors see every notification without marking any."""
    recipient = authorize_notifications(actor)
    now = clock.now()
    async with uow_factory() as uow:
        found = await uow.notifications.list(recipient=recipient, undelivered_only=undelivered_only, limit=limit)
        if recipient is not None:
            fresh = [n.notification_id for n in found if n.delivered_at is None]
            if fresh:
                await uow.notifications.mark_delivered(fresh, now)
                await uow.audit.append(audit.notifications_delivered(actor.subject, fresh, now))
                await uow.commit()
    return found


# --- the façade -------------------------------------------------------------------------------


@dataclass
class FrontDoor:
    """The front-door use cases bound to one broker's collaborators."""

    uow_factory: FrontDoorUnitOfWorkFactory
    case_system: CaseSystem
    authorities: Mapping[str, Authority]
    default_authority: str
    clock: Clock
    signer: Signer
    new_id: Callable[[], str]
    open_enquiry_fn: Callable[[OpenEnquiry], Awaitable[Opened]]
    purpose: str
    on_decided: Callable[[Any, Decision, Contact], Awaitable[Any]] | None = None  # downstream delivery

    @property
    def authority(self) -> Authority:
        return self.authorities[self.default_authority]

    async def record_contact(self, command: RecordContact) -> ContactRecorded:
        return await record_contact(command, uow_factory=self.uow_factory, case_system=self.case_system,
                                    authority=self.authority, clock=self.clock, new_id=self.new_id)

    async def propose_brag(self, contact_id: str, brag: Brag, rationale: SignsOfSafety, *, actor: Principal) -> Contact:
        return await propose_brag(contact_id, brag, rationale, actor=actor, uow_factory=self.uow_factory,
                                  clock=self.clock)

    async def sanction(self, contact_id: str, *, actor: Principal, brag: Brag | None = None,
                       rationale: SignsOfSafety | None = None, reason: str | None = None) -> Contact:
        return await sanction(contact_id, actor=actor, uow_factory=self.uow_factory, clock=self.clock,
                              authorities=self.authorities, brag=brag, rationale=rationale, reason=reason)

    async def rerate(self, contact_id: str, *, to: Brag, reason: str, actor: Principal,
                     expected_from: Brag | None = None) -> Contact:
        return await rerate(contact_id, to=to, reason=reason, actor=actor, uow_factory=self.uow_factory,
                            clock=self.clock, authorities=self.authorities, expected_from=expected_from)

    async def close_blue(self, contact_id: str, *, advice: str, actor: Principal) -> Decision:
        return await close_blue(contact_id, advice=advice, actor=actor, uow_factory=self.uow_factory,
                                clock=self.clock, signer=self.signer, authorities=self.authorities,
                                new_id=self.new_id)

    async def open_enquiry(self, contact_id: str, *, actor: Principal, consent: ConsentDecision | None = None,
                           categories: frozenset[str] | None = None) -> EnquiryFromContact:
        return await open_enquiry_from_contact(
            contact_id, actor=actor, uow_factory=self.uow_factory, clock=self.clock,
            open_enquiry=self.open_enquiry_fn, purpose=self.purpose, consent=consent, categories=categories,
            authorities=self.authorities,
        )

    async def record_decision(self, contact_id: str, *, outcome: Outcome, rationale: str,
                              actor: Principal) -> Decision:
        return await record_decision(contact_id, outcome=outcome, rationale=rationale, actor=actor,
                                     uow_factory=self.uow_factory, clock=self.clock, signer=self.signer,
                                     authorities=self.authorities, new_id=self.new_id,
                                     on_decided=self.on_decided)

    async def read_contact(self, contact_id: str, *, actor: Principal) -> ContactView:
        return await read_contact(contact_id, actor=actor, uow_factory=self.uow_factory, clock=self.clock)

    async def list_contacts(self, *, actor: Principal, state: str | None = None, brag: str | None = None,
                            overdue: bool = False, limit: int = 50,
                            before: dt.datetime | None = None) -> list[ContactRow]:
        return await list_contacts(actor=actor, uow_factory=self.uow_factory, clock=self.clock, state=state,
                                   brag=brag, overdue=overdue, limit=limit, before=before)

    async def read_decision(self, contact_id: str, *, actor: Principal, jwks: Mapping[str, Any]) -> DecisionView:
        return await read_decision(contact_id, actor=actor, uow_factory=self.uow_factory, clock=self.clock,
                                   jwks=jwks)

    async def read_feedback(self, contact_id: str, *, actor: Principal) -> ReferrerFeedback:
        return await read_feedback(contact_id, actor=actor, uow_factory=self.uow_factory)

    async def feedback_given(self, contact_id: str, *, method: str, actor: Principal) -> ReferrerFeedback:
        return await feedback_given(contact_id, method=method, actor=actor, uow_factory=self.uow_factory,
                                    clock=self.clock)

    async def notifications(self, *, actor: Principal, undelivered_only: bool = False,
                            limit: int = 100) -> list[Notification]:
        return await notifications_for(actor=actor, uow_factory=self.uow_factory, clock=self.clock,
                                       undelivered_only=undelivered_only, limit=limit)
