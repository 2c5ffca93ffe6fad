"""The read side: what the API shows, read without taking the writer's lock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.adapters.db import audit_store
from broker.adapters.db import tables as t
from broker.adapters.db.crypto import RowCipher
from broker.adapters.db.mapping import utc
from broker.adapters.db.repository import EnquiryRepository, StoredSummary, SummaryRepository
from broker.domain.enquiry import Enquiry


@dataclass(frozen=True, slots=True)
class EnquiryPage:
    """All the API shows of one enquiry, read on one connection."""

    enquiry: Enquiry
    summaries: list[StoredSummary]
    rejections: list[dict[str, Any]]


class Views:
    def __init__(self, engine: AsyncEngine, cipher: RowCipher) -> None:
        self._engine = engine
        self._cipher = cipher
        # Run before the audit log is read, so every committed entry waiting in the audit
        # inbox is in it (the composition root sets it to the broker's sequencer).
        self.before_audit_read: Callable[[], Awaitable[object]] | None = None

    async def enquiry(self, enquiry_id: str) -> Enquiry | None:
        async with self._engine.connect() as c:
            return await EnquiryRepository(c, self._cipher).get(enquiry_id)

    async def enquiry_page(self, enquiry_id: str) -> EnquiryPage | None:
        async with self._engine.connect() as c:
            enquiry = await EnquiryRepository(c, self._cipher).get(enquiry_id)
            if enquiry is None:
                return None
            return EnquiryPage(
                enquiry,
                await SummaryRepository(c, self._cipher).history(enquiry_id),
                await self._rejections(c, enquiry_id),
            )

    async def summaries(self, enquiry_id: str) -> list[StoredSummary]:
        async with self._engine.connect() as c:
            return await SummaryRepository(c, self._cipher).history(enquiry_id)

    async def opener_and_summaries(self, enquiry_id: str) -> tuple[str, list[StoredSummary]] | None:
        """Who opened the enquiry (all a summary read is authorised on) and its summaries,
        without opening its sealed subjects; None when there is no such enquiry."""
        async with self._engine.connect() as c:
            opened_by = (await c.execute(
                select(t.enquiries.c.opened_by).where(t.enquiries.c.enquiry_id == enquiry_id)
            )).scalar_one_or_none()
            if opened_by is None:
                return None
            return opened_by, await SummaryRepository(c, self._cipher).history(enquiry_id)

    async def enquiries(
        self, *, state: str | None, limit: int, before: dt.datetime | None,
        opened_by: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; `before` pages through by opened_at (stable under inserts)."""
        e = t.enquiries
        pending = (
            select(func.count())
            .select_from(t.partner_requests)
            .where(t.partner_requests.c.enquiry_id == e.c.enquiry_id)
            .where(t.partner_requests.c.status == "pending")
            .scalar_subquery()
        )
        query = select(
            e.c.enquiry_id, e.c.state, e.c.brag, e.c.purpose, e.c.opened_at, e.c.deadline_at,
            e.c.closed_at, e.c.completion, pending.label("pending_partners"),
        ).order_by(e.c.opened_at.desc(), e.c.enquiry_id.desc()).limit(limit)
        if state:
            query = query.where(e.c.state == state)
        if before:
            query = query.where(e.c.opened_at < before)
        if opened_by is not None:
            query = query.where(e.c.opened_by == opened_by)
        async with self._engine.connect() as c:
            rows = (await c.execute(query)).mappings().all()
        return [
            {**row, "opened_at": utc(row["opened_at"]), "deadline_at": utc(row["deadline_at"]),
             "closed_at": utc(row["closed_at"])}
            for row in rows
        ]

    async def rejections(self, enquiry_id: str) -> list[dict[str, Any]]:
        async with self._engine.connect() as c:
            return await self._rejections(c, enquiry_id)

    @staticmethod
    async def _rejections(c: AsyncConnection, enquiry_id: str) -> list[dict[str, Any]]:
        r = t.rejected_messages
        rows = (
            await c.execute(
                select(r.c.message_id, r.c.received_at, r.c.reason, r.c.partner_id, r.c.request_id)
                .where(r.c.enquiry_id == enquiry_id)
                .order_by(r.c.id)
            )
        ).mappings().all()
        return [{**row, "received_at": utc(row["received_at"])} for row in rows]

    async def audit_events(self, *, after: int, limit: int) -> list[dict[str, Any]]:
        if self.before_audit_read is not None:
            await self.before_audit_read()
        events = audit_store.audit_events
        async with self._engine.connect() as c:
            rows = (await c.execute(
                select(events).where(events.c.index > after).order_by(events.c.index).limit(limit)
            )).mappings().all()
        return [
            {"index": r["index"], "at": utc(r["at"]), "actor": r["actor"], "action": r["action"],
             "enquiry_id": r["enquiry_id"], "outcome": r["outcome"], "reason": r["reason"],
             "details": r["details"], "leaf_hash": r["leaf_hash"], "root_after": r["root_after"]}
            for r in rows
        ]

    async def audit_checkpoint(self) -> dict[str, Any] | None:
        async with self._engine.connect() as c:
            latest = await audit_store.AuditRepository(c).latest_checkpoint()
        if latest is None:
            return None
        checkpoint, jws = latest
        return {**checkpoint.payload(), "jws": jws}

    async def ping(self) -> None:
        async with self._engine.connect() as c:
            await c.execute(select(1))
