"""What the dead-letter queue tells us: a request that never reached its partner, or a
reply we could not process, recorded against its enquiry for the manager to see."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

import structlog

from adapters.sdk.messages import REPLY_TYPE, REQUEST_TYPE
from adapters.sdk.transport.base import IncomingMessage
from broker.domain.enquiry import EnquiryState
from broker.service import audit_trail
from broker.domain.recipients import VIEW_TYPE
from broker.service.deliveries import record_view_dead_letter
from broker.service.ports import Clock, Signer, UnitOfWorkFactory
from broker.service.summaries import issue_summary

log = structlog.get_logger("mash.dead_letters")


async def record_dead_letter(
    message: IncomingMessage,
    *,
    uow_factory: UnitOfWorkFactory,
    signer: Signer,
    clock: Clock,
    new_id: Callable[[], str],
    queue: str,
    retry_reply: Callable[[IncomingMessage], Awaitable[str]] | None = None,
) -> str:
    """Record one dead letter; returns what was done (for tests and logs)."""
    reason = message.death_reason or "unknown"
    where = message.death_queue or "unknown queue"
    if message.message_type == REPLY_TYPE and reason == "delivery_limit" and retry_reply is not None:
        # A reply that ran out of deliveries was not refused by us (we reject those with
        # a recorded reason): it met a fault. Give it one more, patient, try.
        outcome = await retry_reply(message)
        if outcome in ("recorded", "duplicate"):
            return f"reply {outcome} from the dead-letter queue"
    if message.message_type == VIEW_TYPE and message.correlation_id:
        return await record_view_dead_letter(message.correlation_id, death=reason, where=where,
                                             uow_factory=uow_factory, clock=clock)
    if message.message_type == REQUEST_TYPE and message.correlation_id:
        return await _request_dead(
            message.correlation_id, reason, f"request dead-lettered from {where}: {reason}",
            uow_factory=uow_factory, signer=signer, clock=clock, new_id=new_id,
        )
    async with uow_factory() as uow:
        if message.message_id and await uow.rejections.recorded(message.message_id):
            return "already recorded"
        await uow.rejections.add(
            message_id=(message.message_id or "")[:200] or None,
            received_at=clock.now(),
            queue=queue,
            reason=f"dead-lettered from {where}: {reason}"
            + ("" if message.message_type == REPLY_TYPE else f" (type {message.message_type})"),
            enquiry_id=None,
            request_id=(message.correlation_id or "")[:36] or None,
            partner_id=None,
            body_sha256=hashlib.sha256(message.body).hexdigest(),
        )
        await uow.commit()
    log.warning("dead_letter_recorded", reason=reason, death_queue=where)
    return "recorded"


async def _request_dead(
    request_id: str, death: str, reason: str, *, uow_factory: UnitOfWorkFactory, signer: Signer,
    clock: Clock, new_id: Callable[[], str],
) -> str:
    """A rejected or over-the-limit request is undeliverable now; an expired one is a note
    (the deadline, held in the database, decides)."""
    async with uow_factory() as uow:
        owner = await uow.enquiries.request_owner(request_id)
        if owner is None:
            return "unknown request"
        enquiry = await uow.enquiries.get(owner.enquiry_id, for_update=True)
        assert enquiry is not None
        if death == "expired":
            if enquiry.note_expired(request_id, reason):
                await uow.enquiries.save(enquiry)
                await uow.commit()
            return "expired noted"
        if not enquiry.mark_undeliverable(request_id, reason, clock.now()):
            return "no change"
        await uow.enquiries.save(enquiry)
        entry = audit_trail.request_undeliverable(owner.enquiry_id, owner.partner_id, request_id, reason, clock.now())
        if enquiry.state is not EnquiryState.DISPATCHED:
            await issue_summary(enquiry, uow=uow, signer=signer, clock=clock, new_id=new_id, audit=[entry])
        else:
            await uow.audit.append(entry)
        await uow.commit()
    log.warning("request_undeliverable", enquiry_id=owner.enquiry_id, partner_id=owner.partner_id,
                request_id=request_id, reason=reason)
    return "undeliverable"
