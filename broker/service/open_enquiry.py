"""Opening an enquiry: gates, then the enquiry and its requests in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import structlog

from broker.domain.access import Principal, authorize_open
from broker.domain.brag import Brag, deadline_for
from broker.domain.consent import ConsentDecision
from broker.domain.enquiry import Enquiry, EnquiryState
from broker.domain.gates import apply_gates
from broker.domain.subject import Subject, check_household
from broker.service.ports import AgreementRegistry, Clock, Signer, UnitOfWorkFactory
from broker.service import audit_trail
from broker.service.requests import request_messages

log = structlog.get_logger("mash.enquiries")

# Agreements are dated in UK local time: "in force today" means today in England.
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True, slots=True)
class OpenEnquiry:
    purpose: str
    brag: Brag
    subjects: tuple[Subject, ...]
    consent: ConsentDecision | None
    actor: Principal
    categories: frozenset[str] | None = None
    idempotency_key: str | None = None
    # When partner information is due, if the caller worked it out (an enquiry from a contact:
    # the authority's timescale on its working calendar); default: `timescales` on the wall clock.
    deadline_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Opened:
    # As committed (or, when replayed, as stored): lets the caller answer without reading it back.
    enquiry: Enquiry
    replayed: bool  # the same idempotency key was seen before: nothing new was created

    @property
    def enquiry_id(self) -> str:
        return self.enquiry.enquiry_id

    @property
    def state(self) -> EnquiryState:
        return self.enquiry.state

    @property
    def refusal_reason(self) -> str | None:
        return self.enquiry.refusal_reason


async def open_enquiry(
    command: OpenEnquiry,
    *,
    uow_factory: UnitOfWorkFactory,
    agreements: AgreementRegistry,
    signer: Signer,
    clock: Clock,
    timescales: Mapping[Brag, dt.timedelta],
    new_id: Callable[[], str],
    chase_share: float | None = None,
    on_commit: Callable[[], None] = lambda: None,
) -> Opened:
    """Open an enquiry; a refused gate is recorded too, and nothing is sent for it."""
    authorize_open(command.actor, command.consent)
    now = clock.now()
    check_household(command.subjects, today=now.astimezone(UK).date())
    enquiry = Enquiry(
        enquiry_id=new_id(),
        purpose=command.purpose,
        brag=command.brag,
        subjects=command.subjects,
        consent=command.consent,
        opened_by=command.actor.subject,
        opened_at=now,
        deadline_at=(
            command.deadline_at if command.deadline_at is not None and command.deadline_at > now
            else deadline_for(command.brag, now, timescales)
        ),
    )
    apply_gates(
        enquiry,
        agreements.all(),
        day=now.astimezone(UK).date(),
        at=now,
        new_request_id=new_id,
        wanted_categories=command.categories,
    )
    messages = (
        request_messages(enquiry, signer=signer, issued_at=now, new_id=new_id)
        if enquiry.state is EnquiryState.DISPATCHED
        else []
    )
    async with uow_factory() as uow:
        if command.idempotency_key:
            existing = await uow.enquiries.by_idempotency_key(command.idempotency_key)
            if existing is not None:
                stored = await uow.enquiries.get(existing)
                assert stored is not None
                return Opened(stored, replayed=True)
        await uow.enquiries.add(
            enquiry,
            idempotency_key=command.idempotency_key,
            wanted_categories=sorted(command.categories) if command.categories else None,
            chase_at=(
                enquiry.chase_point(chase_share)
                if chase_share and enquiry.state is EnquiryState.DISPATCHED
                else None
            ),
        )
        await uow.outbox.add(messages, now=now, expires_at=enquiry.deadline_at)
        await uow.audit.append(*audit_trail.enquiry_opened(enquiry, command.actor.subject, now))
        await uow.commit()
    on_commit()
    log.info(
        "enquiry_opened",
        enquiry_id=enquiry.enquiry_id,
        state=enquiry.state.value,
        partners_asked=len(messages),
        brag=enquiry.brag.value,
    )
    return Opened(enquiry, replayed=False)
