"""The deadline sweep: the database, not memory, decides when an enquiry is overdue."""

from __future__ import annotations

from collections.abc import Callable

import structlog

from broker.service import audit_trail
from broker.service.ports import Clock, Signer, UnitOfWorkFactory
from broker.service.summaries import issue_summary

log = structlog.get_logger("mash.deadlines")


async def close_overdue(
    *, uow_factory: UnitOfWorkFactory, signer: Signer, clock: Clock, new_id: Callable[[], str],
    limit: int = 100,
) -> int:
    """Close every enquiry whose deadline has passed as partial, naming who did not reply.

    One transaction per enquiry, each row locked: two sweepers (or a sweeper and
    a late reply) cannot both close the same enquiry.
    """
    async with uow_factory() as uow:
        overdue = await uow.enquiries.overdue(clock.now(), limit)
    closed = 0
    for enquiry_id in overdue:
        async with uow_factory() as uow:
            enquiry = await uow.enquiries.get(enquiry_id, for_update=True)
            if enquiry is None or not enquiry.expire(clock.now()):
                continue
            await uow.enquiries.save(enquiry)
            stored = await issue_summary(
                enquiry, uow=uow, signer=signer, clock=clock, new_id=new_id,
                audit=[audit_trail.enquiry_expired(enquiry, clock.now())],
            )
            await uow.commit()
        closed += 1
        log.info(
            "enquiry_partial_at_deadline",
            enquiry_id=enquiry_id,
            no_reply=[r.partner_id for r in enquiry.requests if r.status.value == "no_reply"],
            summary_version=stored.version,
        )
    return closed
