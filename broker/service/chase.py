"""Escalation against drift: chase partners still silent part way to their deadline."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from broker.service import audit_trail
from broker.service.ports import Clock, UnitOfWorkFactory

log = structlog.get_logger("mash.chase")


async def chase_drifting(
    *, uow_factory: UnitOfWorkFactory, clock: Clock, new_id: Callable[[], str], limit: int = 100,
    on_commit: Callable[[], None] = lambda: None,
) -> int:
    """Re-send the request of every partner still pending at its enquiry's chase point.

    The same signed request goes again under the same request id, so a partner
    that did answer (and whose reply was lost) re-sends its stored reply, and one
    that never got the request gets it now; the enquiry is flagged at risk of drift.
    """
    async with uow_factory() as uow:
        due = await uow.enquiries.due_for_chase(clock.now(), limit)
    chased = 0
    for enquiry_id in due:
        async with uow_factory() as uow:
            enquiry = await uow.enquiries.get(enquiry_id, for_update=True)
            if enquiry is None:
                continue
            now = clock.now()
            requests = enquiry.chase(now)
            for request in requests:
                await uow.outbox.resend(
                    request.request_id, message_id=new_id(), now=now, expires_at=enquiry.deadline_at
                )
                await uow.audit.append(
                    audit_trail.request_chased(enquiry_id, request.partner_id, request.request_id, now)
                )
            await uow.enquiries.save(enquiry)
            await uow.commit()
        if requests:
            chased += len(requests)
            on_commit()
            log.warning(
                "partners_chased",
                enquiry_id=enquiry_id,
                partners=[r.partner_id for r in requests],
                seconds_to_deadline=round((enquiry.deadline_at - now).total_seconds()),
            )
    return chased
