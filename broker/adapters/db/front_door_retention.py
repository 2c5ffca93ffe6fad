"""Purging a contact's personal data when its retention ends (broker/domain/contact_retention.py).

Sealed columns are emptied in place; ids, states, times, ratings, outcomes and the signed
decision's SHA-256 stay, so the timeliness statistics and the audit trail still add up.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.adapters.db import front_door_tables as f
from broker.adapters.db import tables as t
from broker.adapters.db.delivery_tables import service_views
from broker.adapters.db.mapping import utc
from broker.domain.contact import FINISHED
from broker.domain.contact_retention import PurgedContact
from broker.domain.recipients import VIEW_TYPE

_SEALED_CONTACT_COLUMNS = (
    "referrer", "reason", "subjects", "consent", "allocated_worker", "proposal_rationale",
    "sanction_rationale", "sanction_reason", "universal_advice",
)


class ContactRetentionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def due(self, now: dt.datetime, *, retention_days: int, limit: int) -> list[str]:
        """Contacts whose personal data should go now, oldest first.

        Tied to an enquiry: once nothing the partners shared is still held for it and some of
        it was purged (the enquiry's retention ended). An enquiry that never held findings, or a
        contact that never led to one: `retention_days` after the contact finished.
        """
        c, pr = f.contacts, t.partner_requests
        finished_at = func.coalesce(c.c.decided_at, c.c.closed_at, c.c.recorded_at)
        aged = and_(c.c.state.in_([s.value for s in FINISHED]),
                    finished_at <= now - dt.timedelta(days=retention_days))
        findings_held = exists().where(pr.c.enquiry_id == c.c.enquiry_id, pr.c.reply.is_not(None),
                                       pr.c.purged_at.is_(None))
        findings_purged = exists().where(pr.c.enquiry_id == c.c.enquiry_id, pr.c.purged_at.is_not(None))
        query = (
            select(c.c.contact_id)
            .where(c.c.purged_at.is_(None))
            .where(or_(
                and_(c.c.enquiry_id.is_(None), aged),
                and_(c.c.enquiry_id.is_not(None), ~findings_held, or_(findings_purged, aged)),
            ))
            .order_by(c.c.received_at, c.c.contact_id)
            .limit(limit)
        )
        return list((await self._c.execute(query)).scalars().all())

    async def purge(self, contact_id: str, now: dt.datetime) -> PurgedContact | None:
        """Empty every sealed column of the contact and what hangs off it; None if already purged."""
        c, d, n = f.contacts, f.decisions, f.notifications
        row = (await self._c.execute(
            select(c.c.enquiry_id).where(c.c.contact_id == contact_id).where(c.c.purged_at.is_(None))
            .with_for_update()
        )).first()
        if row is None:
            return None
        await self._c.execute(
            update(c).where(c.c.contact_id == contact_id)
            .values(purged_at=now, **{column: None for column in _SEALED_CONTACT_COLUMNS})
        )
        reratings = await self._c.execute(
            update(f.contact_reratings).where(f.contact_reratings.c.contact_id == contact_id).values(reason=None))
        checks = await self._c.execute(
            update(f.contact_consent_checks).where(f.contact_consent_checks.c.contact_id == contact_id)
            .values(reason=None, consent=None))
        decision = (await self._c.execute(
            select(d.c.decision_id, d.c.jws_sha256).where(d.c.contact_id == contact_id))).first()
        if decision is not None:
            await self._c.execute(
                update(d).where(d.c.contact_id == contact_id).values(rationale=None, jws=None, purged_at=now))
        notification_ids = tuple((await self._c.execute(
            select(n.c.notification_id).where(n.c.contact_id == contact_id).order_by(n.c.notification_id)
        )).scalars().all())
        if notification_ids:
            await self._c.execute(update(n).where(n.c.contact_id == contact_id).values(body=None))
        view_ids = await self._purge_views(contact_id, now)
        return PurgedContact(
            contact_id=contact_id, enquiry_id=row[0], view_ids=view_ids,
            decision_id=decision[0] if decision else None, decision_sha256=decision[1] if decision else None,
            notification_ids=notification_ids, reratings=reratings.rowcount or 0,
            consent_checks=checks.rowcount or 0,
        )

    async def _purge_views(self, contact_id: str, now: dt.datetime) -> tuple[str, ...]:
        """The signed views of the contact's decision sent to receiving services (they name the
        child): bodies dropped, ids and hashes kept, unsent copies in the outbox never sent."""
        v = service_views
        ids = tuple((await self._c.execute(
            select(v.c.view_id).where(v.c.contact_id == contact_id).where(v.c.purged_at.is_(None))
            .order_by(v.c.view_id)
        )).scalars().all())
        if ids:
            await self._c.execute(update(v).where(v.c.view_id.in_(ids)).values(jws=None, purged_at=now,
                                                                                ack_due_at=None))
            await self._c.execute(
                update(t.outbox).where(t.outbox.c.correlation_id.in_(ids))
                .where(t.outbox.c.message_type == VIEW_TYPE)
                .values(body=b"", published_at=func.coalesce(t.outbox.c.published_at, now))
            )
        return ids

    async def purged(self, contact_id: str) -> tuple[dt.datetime, str | None, str | None] | None:
        """(purged_at, allocated_worker_id, decision jws_sha256) of a purged contact; None otherwise."""
        c, d = f.contacts, f.decisions
        row = (await self._c.execute(
            select(c.c.purged_at, c.c.allocated_worker_id, d.c.jws_sha256)
            .select_from(c.outerjoin(d, d.c.contact_id == c.c.contact_id))
            .where(c.c.contact_id == contact_id).where(c.c.purged_at.is_not(None))
        )).first()
        if row is None:
            return None
        return utc(row[0]), row[1], row[2]  # type: ignore[return-value]
