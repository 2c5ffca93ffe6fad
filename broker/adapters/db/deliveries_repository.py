"""Views issued to receiving services: stored sealed, sent, re-sent, acknowledged, refused.

Status is derived from facts at read time:
  acknowledged  a valid signed receipt was recorded (wins over everything else);
  undelivered   not acknowledged after the last permitted send (given up);
  delivered     RabbitMQ confirmed a send to the service's queue, or its webhook answered 2xx;
  pending       nothing confirmed yet.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.adapters.db import delivery_tables as d
from broker.adapters.db import tables as t
from broker.adapters.db.crypto import RowCipher
from broker.adapters.db.mapping import utc
from broker.domain.recipients import VIEW_TYPE


@dataclass(frozen=True, slots=True)
class StoredView:
    view_id: str
    service_id: str
    enquiry_id: str | None
    contact_id: str | None
    summary_id: str | None
    decision_id: str
    decision_outcome: str
    issued_at: dt.datetime
    jws: str | None  # None once purged
    jws_sha256: str
    sends: int = 0
    last_sent_at: dt.datetime | None = None
    ack_due_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    ack_channel: str | None = None
    receipt_received_at: dt.datetime | None = None
    undelivered_at: dt.datetime | None = None
    undelivered_reason: str | None = None
    webhook_url: str | None = None
    webhook_state: str | None = None
    webhook_attempts: int = 0
    webhook_next_attempt_at: dt.datetime | None = None
    webhook_last_error: str | None = None
    webhook_delivered_at: dt.datetime | None = None
    queue_confirmed: bool = False
    purged_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        if self.acknowledged_at is not None:
            return "acknowledged"
        if self.undelivered_at is not None:
            return "undelivered"
        if self.queue_confirmed or self.webhook_state == "delivered":
            return "delivered"
        return "pending"


def _context(view_id: str) -> str:
    return f"service_views.jws:{view_id}"


def _confirmed() -> Any:
    return exists().where(
        and_(t.outbox.c.correlation_id == d.service_views.c.view_id,
             t.outbox.c.message_type == VIEW_TYPE,
             t.outbox.c.published_at.is_not(None))
    )


def _status_is(status: str) -> Any:
    """The SQL form of `StoredView.status`, so a filtered list pages over the whole table."""
    v = d.service_views.c
    acknowledged = v.acknowledged_at.is_not(None)
    undelivered = and_(v.acknowledged_at.is_(None), v.undelivered_at.is_not(None))
    delivered = and_(v.acknowledged_at.is_(None), v.undelivered_at.is_(None),
                     or_(_confirmed(), v.webhook_state == "delivered"))
    pending = and_(v.acknowledged_at.is_(None), v.undelivered_at.is_(None),
                   ~_confirmed(), or_(v.webhook_state.is_(None), v.webhook_state != "delivered"))
    return {"acknowledged": acknowledged, "undelivered": undelivered,
            "delivered": delivered, "pending": pending}[status]


class DeliveryRepository:
    def __init__(self, connection: AsyncConnection, cipher: RowCipher, *, skip_locked: bool = False) -> None:
        self._c = connection
        self._cipher = cipher
        self._skip_locked = skip_locked

    async def add(self, view: StoredView) -> None:
        await self._c.execute(insert(d.service_views).values(
            view_id=view.view_id, service_id=view.service_id, enquiry_id=view.enquiry_id,
            contact_id=view.contact_id, summary_id=view.summary_id, decision_id=view.decision_id,
            decision_outcome=view.decision_outcome, issued_at=view.issued_at,
            jws=self._cipher.seal((view.jws or "").encode("ascii"), context=_context(view.view_id)),
            jws_sha256=view.jws_sha256, sends=view.sends, last_sent_at=view.last_sent_at,
            ack_due_at=view.ack_due_at, webhook_url=view.webhook_url, webhook_state=view.webhook_state,
            webhook_attempts=0, webhook_next_attempt_at=view.webhook_next_attempt_at,
        ))

    def _view(self, row: Any) -> StoredView:
        return StoredView(
            view_id=row["view_id"], service_id=row["service_id"], enquiry_id=row["enquiry_id"],
            contact_id=row["contact_id"], summary_id=row["summary_id"], decision_id=row["decision_id"],
            decision_outcome=row["decision_outcome"], issued_at=utc(row["issued_at"]),  # type: ignore[arg-type]
            jws=(self._cipher.open(row["jws"], context=_context(row["view_id"])).decode("ascii")
                 if row["jws"] is not None else None),
            jws_sha256=row["jws_sha256"], sends=row["sends"], last_sent_at=utc(row["last_sent_at"]),
            ack_due_at=utc(row["ack_due_at"]), acknowledged_at=utc(row["acknowledged_at"]),
            ack_channel=row["ack_channel"], receipt_received_at=utc(row["receipt_received_at"]),
            undelivered_at=utc(row["undelivered_at"]), undelivered_reason=row["undelivered_reason"],
            webhook_url=row["webhook_url"],
            webhook_state=row["webhook_state"], webhook_attempts=row["webhook_attempts"],
            webhook_next_attempt_at=utc(row["webhook_next_attempt_at"]),
            webhook_last_error=row["webhook_last_error"],
            webhook_delivered_at=utc(row["webhook_delivered_at"]),
            queue_confirmed=bool(row["queue_confirmed"]),
            purged_at=utc(row["purged_at"]),
        )

    def _select(self) -> Any:
        return select(d.service_views, _confirmed().label("queue_confirmed"))

    async def get(self, view_id: str, *, for_update: bool = False) -> StoredView | None:
        query = self._select().where(d.service_views.c.view_id == view_id)
        if for_update and self._skip_locked:
            query = query.with_for_update(of=d.service_views)
        row = (await self._c.execute(query)).mappings().first()
        return self._view(row) if row else None

    async def for_decision(self, decision_id: str) -> list[StoredView]:
        rows = (await self._c.execute(
            self._select().where(d.service_views.c.decision_id == decision_id)
            .order_by(d.service_views.c.service_id)
        )).mappings().all()
        return [self._view(r) for r in rows]

    async def listing(self, *, service_id: str | None = None, limit: int = 100,
                      before: dt.datetime | None = None, status: str | None = None) -> list[StoredView]:
        query = self._select().order_by(d.service_views.c.issued_at.desc(), d.service_views.c.view_id)
        if service_id is not None:
            query = query.where(d.service_views.c.service_id == service_id)
        if status is not None:
            query = query.where(_status_is(status))
        if before is not None:
            query = query.where(d.service_views.c.issued_at < before)
        rows = (await self._c.execute(query.limit(limit))).mappings().all()
        return [self._view(r) for r in rows]

    async def due_for_resend(self, now: dt.datetime, limit: int) -> list[str]:
        query = (
            select(d.service_views.c.view_id)
            .where(d.service_views.c.acknowledged_at.is_(None))
            .where(d.service_views.c.undelivered_at.is_(None))
            .where(d.service_views.c.ack_due_at <= now)
            .order_by(d.service_views.c.ack_due_at)
            .limit(limit)
        )
        if self._skip_locked:
            query = query.with_for_update(skip_locked=True)
        return list((await self._c.execute(query)).scalars().all())

    async def mark_sent(self, view_id: str, *, at: dt.datetime, ack_due_at: dt.datetime) -> None:
        await self._c.execute(
            update(d.service_views).where(d.service_views.c.view_id == view_id)
            .values(sends=d.service_views.c.sends + 1, last_sent_at=at, ack_due_at=ack_due_at)
        )

    async def purge_for_enquiry(self, enquiry_id: str, at: dt.datetime) -> list[str]:
        """Drop the signed bodies of an enquiry's views (retention ended); ids and hashes stay.
        Nothing is re-sent or POSTed after this."""
        ids = list((await self._c.execute(
            select(d.service_views.c.view_id).where(d.service_views.c.enquiry_id == enquiry_id)
            .where(d.service_views.c.purged_at.is_(None))
        )).scalars().all())
        if ids:
            await self._c.execute(
                update(d.service_views).where(d.service_views.c.view_id.in_(ids)).values(
                    jws=None, purged_at=at, ack_due_at=None)
            )
            # Their copies in the outbox go too (an unsent one is never sent now).
            await self._c.execute(
                update(t.outbox).where(t.outbox.c.correlation_id.in_(ids))
                .where(t.outbox.c.message_type == VIEW_TYPE)
                .values(body=b"", published_at=func.coalesce(t.outbox.c.published_at, at))
            )
        return ids

    async def mark_undelivered(self, view_id: str, at: dt.datetime, *, reason: str) -> None:
        await self._c.execute(
            update(d.service_views).where(d.service_views.c.view_id == view_id)
            .values(undelivered_at=at, ack_due_at=None, undelivered_reason=reason[:2000])
        )

    async def acknowledge(self, view_id: str, *, at: dt.datetime, channel: str, receipt_jws: str,
                          received_at: dt.datetime) -> bool:
        """Record the first valid receipt; False when one was already recorded."""
        result = await self._c.execute(
            update(d.service_views)
            .where(d.service_views.c.view_id == view_id)
            .where(d.service_views.c.acknowledged_at.is_(None))
            .values(acknowledged_at=at, ack_channel=channel, receipt_jws=receipt_jws,
                    receipt_received_at=received_at, ack_due_at=None)
        )
        return bool(result.rowcount)

    async def webhooks_due(self, now: dt.datetime, limit: int) -> list[tuple[str, dt.datetime]]:
        rows = (await self._c.execute(
            select(d.service_views.c.view_id, d.service_views.c.webhook_next_attempt_at)
            .where(d.service_views.c.webhook_state == "pending")
            .where(d.service_views.c.purged_at.is_(None))
            .where(d.service_views.c.webhook_next_attempt_at <= now)
            .order_by(d.service_views.c.webhook_next_attempt_at)
            .limit(limit)
        )).all()
        return [(r[0], utc(r[1])) for r in rows]  # type: ignore[misc]

    async def lease_webhook(self, view_id: str, *, expected: dt.datetime, until: dt.datetime) -> bool:
        """Take the attempt: move its time on, only if nobody else did (several broker processes)."""
        result = await self._c.execute(
            update(d.service_views)
            .where(d.service_views.c.view_id == view_id)
            .where(d.service_views.c.webhook_state == "pending")
            .where(d.service_views.c.webhook_next_attempt_at == expected)
            .values(webhook_next_attempt_at=until)
        )
        return bool(result.rowcount)

    async def webhook_attempted(self, view_id: str, *, state: str, error: str | None,
                                next_attempt_at: dt.datetime | None,
                                delivered_at: dt.datetime | None) -> None:
        await self._c.execute(
            update(d.service_views).where(d.service_views.c.view_id == view_id).values(
                webhook_state=state, webhook_attempts=d.service_views.c.webhook_attempts + 1,
                webhook_last_error=error[:500] if error else None,
                webhook_next_attempt_at=next_attempt_at, webhook_delivered_at=delivered_at,
            )
        )

    async def reject_receipt(self, *, at: dt.datetime, channel: str, service_id: str | None,
                             view_id: str | None, reason: str, body_sha256: str) -> None:
        await self._c.execute(insert(d.receipt_rejections).values(
            received_at=at, channel=channel, service_id=service_id, view_id=view_id,
            reason=reason[:2000], body_sha256=body_sha256,
        ))

    async def receipt_rejections(self, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = (await self._c.execute(
            select(d.receipt_rejections).order_by(d.receipt_rejections.c.id.desc()).limit(limit)
        )).mappings().all()
        return [{**dict(r), "received_at": utc(r["received_at"])} for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = (await self._c.execute(
            select(d.service_views.c.service_id, func.count()).group_by(d.service_views.c.service_id)
        )).all()
        return {r[0]: int(r[1]) for r in rows}


__all__ = ["DeliveryRepository", "StoredView"]
