"""The append-only audit log in SQL: tables on the shared metadata and a repository over one
open transaction (an AsyncConnection inside `begin()`), like repository.py.

Migration 0003 creates these tables and, on PostgreSQL, a trigger that refuses UPDATE, DELETE
and TRUNCATE of audit rows, even by the table owner. In production the application role should
not own the tables and should hold only SELECT and INSERT on them (plus the advisory lock,
which needs no privilege); an owner or superuser can still drop the trigger, which is why the
log is also a Merkle tree with checkpoints signed and held outside the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.adapters.db.mapping import utc
from broker.adapters.db.tables import TZ, metadata
from broker.domain.audit import AuditEntry, AuditEvent, AuditRecord, Checkpoint
from broker.domain.merkle import CompactRange

audit_events = Table(
    "audit_events",
    metadata,
    Column("index", BigInteger, primary_key=True, autoincrement=False),
    Column("at", TZ, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("enquiry_id", String(200)),
    Column("outcome", String(64), nullable=False),
    Column("reason", Text),
    Column("details", JSON, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
    Column("root_after", String(64), nullable=False),
    # The compact range after this event (hex roots of the perfect subtrees, largest first):
    # lets the next append extend the tree from the last row alone. Not evidence: verify_log
    # recomputes everything from the events, and append checks it folds to root_after.
    Column("frontier", JSON, nullable=False),
    Index("ix_audit_events_enquiry_id", "enquiry_id"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("at", TZ, nullable=False),
    Column("jws", Text, nullable=False),
)

# Entries written by the use cases, unsequenced, in their own transactions: a cheap INSERT and
# no lock. The sequencer (AuditRepository.sequence, one at a time under the append lock) moves
# them into audit_events in batches, giving each its index, leaf hash and running root, and
# deletes them here in the same transaction. Not evidence: nothing in it is signed or chained;
# an entry is part of the log once sequenced, and every read of the log sequences first.
audit_inbox = Table(
    "audit_inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", TZ, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("enquiry_id", String(200)),
    Column("outcome", String(64), nullable=False),
    Column("reason", Text),
    Column("details", JSON, nullable=False),
)

# pg_advisory_xact_lock key serialising appends ("mash_aud" as a 64-bit integer).
APPEND_LOCK_KEY = int.from_bytes(b"mash_aud", "big")


class AuditLogCorrupt(RuntimeError):
    """The last stored row is not consistent with itself: refuse to extend the log."""


def record_from_row(row: Any) -> AuditRecord:
    """A stored row as the verifier sees it, loaded as it is (never validated away)."""
    event = AuditEvent(
        index=row["index"],
        at=utc(row["at"]),
        actor=row["actor"],
        action=row["action"],
        enquiry_id=row["enquiry_id"],
        outcome=row["outcome"],
        reason=row["reason"],
        details=row["details"],
    )
    return AuditRecord(event, row["leaf_hash"], row["root_after"])


class AuditRepository:
    """Appends audit events and checkpoints; never updates or deletes them.

    With `inbox=True` (what the unit of work gives the use cases) `append` writes the entries
    unsequenced into `audit_inbox`, with no lock, and returns no records: `sequence` later
    gives them their place in the log. With `inbox=False` `append` sequences at once under
    the append lock (tests, tools).
    """

    def __init__(self, connection: AsyncConnection, *, inbox: bool = False) -> None:
        self._c = connection
        self._inbox = inbox

    async def _lock(self) -> None:
        # PostgreSQL: one appender at a time until commit, without needing UPDATE rights on the
        # table (SELECT ... FOR UPDATE would) and also when the table is still empty. SQLite
        # serialises writers itself, and the primary key refuses a second row at an index.
        if self._c.dialect.name == "postgresql":
            await self._c.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK_KEY)))

    async def _tail(self) -> CompactRange:
        row = (
            await self._c.execute(
                select(audit_events.c["index"], audit_events.c.root_after, audit_events.c.frontier)
                .order_by(audit_events.c["index"].desc())
                .limit(1)
            )
        ).mappings().first()
        if row is None:
            return CompactRange()
        try:
            compact = CompactRange(row["index"] + 1, [bytes.fromhex(h) for h in row["frontier"]])
        except (TypeError, ValueError) as error:
            raise AuditLogCorrupt(f"audit row {row['index']} has an unreadable frontier") from error
        if compact.root().hex() != row["root_after"]:
            raise AuditLogCorrupt(f"audit row {row['index']}: frontier does not fold to root_after")
        return compact

    async def append(self, *entries: AuditEntry) -> list[AuditRecord]:
        """Give the entries the next indices and store each with its leaf hash and running root.

        Call it late in the use case's transaction: on PostgreSQL it holds the append lock
        until commit.
        """
        if not entries:
            return []
        if self._inbox:
            await self._c.execute(insert(audit_inbox), [
                {"at": e.at, "actor": e.actor, "action": e.action, "enquiry_id": e.enquiry_id,
                 "outcome": e.outcome, "reason": e.reason, "details": dict(e.details)}
                for e in entries
            ])
            return []
        await self._lock()
        return await self._append_locked(entries)

    async def sequence(self, limit: int = 1000) -> int:
        """Move up to `limit` inbox entries, oldest first, into the log; returns how many.

        One sequencer at a time: on PostgreSQL the append lock (held until commit); on SQLite
        the database's single writer. The caller commits; an entry is moved exactly once
        because it is deleted from the inbox in the same transaction.
        """
        await self._lock()
        rows = (
            await self._c.execute(select(audit_inbox).order_by(audit_inbox.c.id).limit(limit))
        ).mappings().all()
        if not rows:
            return 0
        await self._append_locked([
            AuditEntry(at=utc(r["at"]), actor=r["actor"], action=r["action"],
                       enquiry_id=r["enquiry_id"], outcome=r["outcome"], reason=r["reason"],
                       details=r["details"])
            for r in rows
        ])
        ids = [r["id"] for r in rows]
        await self._c.execute(delete(audit_inbox).where(audit_inbox.c.id.in_(ids)))
        return len(rows)

    async def pending(self) -> bool:
        """Whether any entry waits in the inbox (a cheap check, no lock)."""
        return (await self._c.execute(select(audit_inbox.c.id).limit(1))).first() is not None

    async def _append_locked(self, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
        compact = await self._tail()
        records: list[AuditRecord] = []
        rows: list[dict[str, Any]] = []
        for entry in entries:
            event = entry.at_index(compact.size)
            leaf = event.leaf_hash()
            compact.append(leaf)
            record = AuditRecord(event, leaf.hex(), compact.root().hex())
            records.append(record)
            rows.append({
                "index": event.index,
                "at": event.at,
                "actor": event.actor,
                "action": event.action,
                "enquiry_id": event.enquiry_id,
                "outcome": event.outcome,
                "reason": event.reason,
                "details": dict(event.details),
                "leaf_hash": record.leaf_hash,
                "root_after": record.root_after,
                "frontier": [h.hex() for h in compact.hashes],
            })
        await self._c.execute(insert(audit_events), rows)
        return records

    async def all(self) -> list[AuditRecord]:
        """Every stored row, by index."""
        result = await self._c.execute(select(audit_events).order_by(audit_events.c["index"]))
        return [record_from_row(row) for row in result.mappings()]

    async def head(self) -> tuple[int, str]:
        """(size, root hex) of the log as stored."""
        row = (
            await self._c.execute(
                select(audit_events.c["index"], audit_events.c.root_after)
                .order_by(audit_events.c["index"].desc())
                .limit(1)
            )
        ).first()
        if row is None:
            return 0, CompactRange().root().hex()
        return row[0] + 1, row[1]

    async def add_checkpoint(self, checkpoint: Checkpoint, jws: str) -> None:
        await self._c.execute(
            insert(audit_checkpoints).values(
                size=checkpoint.size, root=checkpoint.root, at=checkpoint.at, jws=jws
            )
        )

    async def latest_checkpoint(self) -> tuple[Checkpoint, str] | None:
        """The checkpoint of the largest size and its JWS (unverified: verify the JWS)."""
        row = (
            await self._c.execute(
                select(audit_checkpoints).order_by(audit_checkpoints.c.size.desc()).limit(1)
            )
        ).mappings().first()
        if row is None:
            return None
        return Checkpoint(size=row["size"], root=row["root"], at=utc(row["at"])), row["jws"]

    async def checkpoints(self) -> list[str]:
        """Every stored checkpoint JWS, smallest size first."""
        result = await self._c.execute(
            select(audit_checkpoints.c.jws).order_by(audit_checkpoints.c.size)
        )
        return list(result.scalars())
