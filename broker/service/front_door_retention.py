"""Purging the front door's personal data when its retention ends (see
broker/domain/contact_retention.py for when): one transaction and one audit tombstone
(ids only) per contact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import structlog

from broker.domain.audit import AuditEntry
from broker.domain.contact_retention import PurgedContact
from broker.service.ports import AuditStore, Clock

log = structlog.get_logger("mash.retention")


class ContactRetentionStore(Protocol):
    async def due(self, now: dt.datetime, *, retention_days: int, limit: int) -> list[str]: ...
    async def purge(self, contact_id: str, now: dt.datetime) -> PurgedContact | None: ...
    async def purged(self, contact_id: str) -> tuple[dt.datetime, str | None, str | None] | None: ...


class ContactRetentionUnitOfWork(Protocol):
    contact_retention: ContactRetentionStore
    audit: AuditStore

    async def commit(self) -> None: ...


ContactRetentionUnitOfWorkFactory = Callable[[], AbstractAsyncContextManager[ContactRetentionUnitOfWork]]


def contact_purged(purged: PurgedContact, retention_days: int, at: dt.datetime) -> AuditEntry:
    details: dict[str, object] = {"contact_id": purged.contact_id}
    if purged.decision_id:
        details["decision_id"] = purged.decision_id
    if purged.decision_sha256:
        details["decision_sha256_ids"] = [purged.decision_sha256]  # the tombstone: a held copy still matches
    if purged.view_ids:
        details["view_ids"] = list(purged.view_ids)
    if purged.notification_ids:
        details["notification_ids"] = list(purged.notification_ids)
    if purged.enquiry_id:
        reason = "retention of the enquiry it led to ended (its partners' findings were purged)"
    else:
        reason = f"front-door retention ({retention_days} days after the contact finished) ended"
    return AuditEntry(at=at, actor="broker", action="contact.purged", outcome="purged",
                      enquiry_id=purged.enquiry_id, reason=reason, details=details)


async def purge_expired_contacts(
    *, uow_factory: ContactRetentionUnitOfWorkFactory, clock: Clock, retention_days: int, limit: int = 100,
) -> int:
    """Purge every contact whose retention has ended; returns how many were purged."""
    async with uow_factory() as uow:
        due = await uow.contact_retention.due(clock.now(), retention_days=retention_days, limit=limit)
    purged = 0
    for contact_id in due:
        async with uow_factory() as uow:
            now = clock.now()
            done = await uow.contact_retention.purge(contact_id, now)
            if done is None:
                continue
            await uow.audit.append(contact_purged(done, retention_days, now))
            await uow.commit()
        purged += 1
        log.info("contact_purged", contact_id=contact_id, enquiry_id=done.enquiry_id)
    return purged
