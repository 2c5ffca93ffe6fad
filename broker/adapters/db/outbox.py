"""The transactional outbox: rows written with the state change, published by the relay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sdk.messages import REQUEST_TYPE
from adapters.sdk.transport.base import OutgoingMessage
from broker.adapters.db import tables as t
from broker.adapters.db.crypto import RowCipher
from broker.adapters.db.mapping import utc


@dataclass(frozen=True, slots=True)
class PendingMessage:
    row_id: int
    attempts: int
    expires_at: dt.datetime | None
    message: OutgoingMessage


class OutboxRepository:
    def __init__(self, connection: AsyncConnection, *, skip_locked: bool, cipher: RowCipher) -> None:
        self._c = connection
        self._skip_locked = skip_locked
        self._cipher = cipher

    async def add(
        self, messages: Sequence[OutgoingMessage], *, now: dt.datetime,
        expires_at: dt.datetime | None,
    ) -> None:
        if not messages:
            return
        await self._c.execute(
            insert(t.outbox),
            [
                {
                    "message_id": m.message_id,
                    "exchange": m.exchange,
                    "routing_key": m.routing_key,
                    "message_type": m.message_type,
                    "correlation_id": m.correlation_id,
                    "headers": m.headers,
                    "body": self._cipher.seal(m.body, context=f"outbox.body:{m.correlation_id}").encode(),
                    "expires_at": expires_at,
                    "created_at": now,
                    "available_at": now,
                    "attempts": 0,
                }
                for m in messages
            ],
        )

    async def claim(self, now: dt.datetime, limit: int) -> list[PendingMessage]:
        """Unpublished rows due now, oldest first; locked (SKIP LOCKED) on PostgreSQL
        so several relays never take the same row at once."""
        query = (
            select(t.outbox)
            .where(t.outbox.c.published_at.is_(None))
            .where(t.outbox.c.available_at <= now)
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        if self._skip_locked:
            query = query.with_for_update(skip_locked=True)
        rows = (await self._c.execute(query)).mappings().all()
        return [
            PendingMessage(
                row_id=r["id"],
                attempts=r["attempts"],
                expires_at=utc(r["expires_at"]),
                message=OutgoingMessage(
                    exchange=r["exchange"],
                    routing_key=r["routing_key"],
                    body=self._open_body(bytes(r["body"]), r["correlation_id"]),
                    message_id=r["message_id"],
                    correlation_id=r["correlation_id"],
                    message_type=r["message_type"],
                    headers=dict(r["headers"]),
                ),
            )
            for r in rows
        ]

    def _open_body(self, body: bytes, correlation_id: str) -> bytes:
        if not body.startswith(b"enc1:"):
            return body  # written before encryption at rest
        return self._cipher.open(body.decode("ascii"), context=f"outbox.body:{correlation_id}")

    async def mark_published(self, row_ids: Sequence[int], at: dt.datetime) -> None:
        if row_ids:
            await self._c.execute(
                update(t.outbox).where(t.outbox.c.id.in_(row_ids)).values(published_at=at)
            )

    async def mark_failed(self, row_id: int, *, error: str, retry_at: dt.datetime) -> None:
        await self._c.execute(
            update(t.outbox)
            .where(t.outbox.c.id == row_id)
            .values(attempts=t.outbox.c.attempts + 1, last_error=error[:500], available_at=retry_at)
        )

    async def resend(self, request_id: str, *, message_id: str, now: dt.datetime,
                     expires_at: dt.datetime | None) -> bool:
        """Queue the request first sent for `request_id` again, byte for byte, under a new
        message id (the request id, which partners dedupe on, stays the same)."""
        row = (
            await self._c.execute(
                select(t.outbox)
                .where(t.outbox.c.correlation_id == request_id)
                .where(t.outbox.c.message_type == REQUEST_TYPE)
                .order_by(t.outbox.c.id)
                .limit(1)
            )
        ).mappings().first()
        if row is None:
            return False
        await self._c.execute(
            insert(t.outbox).values(
                message_id=message_id,
                exchange=row["exchange"],
                routing_key=row["routing_key"],
                message_type=row["message_type"],
                correlation_id=row["correlation_id"],
                headers={**row["headers"], "chase": "1"},
                body=row["body"],
                expires_at=expires_at,
                created_at=now,
                available_at=now,
                attempts=0,
            )
        )
        return True

    async def requeue_unanswered_requests(self) -> int:
        """Mark every request still awaited as unpublished again.

        For the in-process transport only: its queues live in memory, so after a
        restart the requests that were in them must be sent again (partners
        dedupe on the request id, so one that had answered re-sends its reply).
        """
        awaited = (
            select(t.partner_requests.c.request_id)
            .join(t.enquiries, t.enquiries.c.enquiry_id == t.partner_requests.c.enquiry_id)
            .where(t.enquiries.c.state == "dispatched")
            .where(t.partner_requests.c.status == "pending")
        )
        result = await self._c.execute(
            update(t.outbox)
            .where(t.outbox.c.message_type == REQUEST_TYPE)
            .where(t.outbox.c.published_at.is_not(None))
            .where(t.outbox.c.correlation_id.in_(awaited))
            .values(published_at=None)
        )
        return int(result.rowcount or 0)

    async def backlog(self) -> int:
        return int(
            (
                await self._c.execute(
                    select(func.count()).select_from(t.outbox).where(t.outbox.c.published_at.is_(None))
                )
            ).scalar_one()
        )
