"""Purging what partners shared once their agreement's retention period has ended.

The findings and signed replies go, and with them every summary version that embeds
them; the outcome rows, the summary ids and hashes, and an audit tombstone stay, so
the record still shows who was asked, what they answered in outline, and when and
why the detail was removed.
"""

from __future__ import annotations

import structlog

from broker.domain.audit import AuditEntry
from broker.service.ports import Clock, UnitOfWorkFactory

log = structlog.get_logger("mash.retention")


async def purge_expired(*, uow_factory: UnitOfWorkFactory, clock: Clock, limit: int = 100) -> int:
    async with uow_factory() as uow:
        due = await uow.enquiries.retention_due(clock.now(), limit)
    purged = 0
    for enquiry_id, request_ids in due.items():
        async with uow_factory() as uow:
            enquiry = await uow.enquiries.get(enquiry_id, for_update=True)
            if enquiry is None:
                continue
            now = clock.now()
            requests = [r for r in enquiry.requests if r.request_id in request_ids and r.purged_at is None]
            if not requests:
                continue
            await uow.enquiries.purge_replies([r.request_id for r in requests], now)
            tombstones = await uow.summaries.purge(enquiry_id, now)
            views = await uow.deliveries.purge_for_enquiry(enquiry_id, now)  # they carry the findings too
            await uow.audit.append(AuditEntry(
                at=now, actor="broker", action="findings.purged", outcome="purged", enquiry_id=enquiry_id,
                reason="; ".join(
                    f"retention of agreement {r.agreement_id} v{r.agreement_version} "
                    f"({r.retention_days} days) ended for {r.partner_id}" for r in requests
                )[:2000],
                details={
                    "request_ids": [r.request_id for r in requests],
                    "partner_ids": [r.partner_id for r in requests],
                    "summary_ids": [summary_id for summary_id, _ in tombstones],
                    "summary_sha256_ids": [digest for _, digest in tombstones if digest],
                    "view_ids": views,
                },
            ))
            await uow.commit()
        purged += len(requests)
        log.info("findings_purged", enquiry_id=enquiry_id, requests=len(requests), summaries=len(tombstones))
    return purged
