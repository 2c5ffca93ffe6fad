"""The audit inbox: use cases write entries unsequenced (no global lock) and one sequencer at
a time moves them into the hash-chained log, each exactly once, gap-free, in a log that verifies."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest

from broker.adapters.db.audit_store import AuditRepository, audit_inbox
from broker.adapters.db.engine import make_engine
from broker.adapters.db.migrate import upgrade
from broker.domain.audit import AuditEntry, build_log
from broker.service.audit import verify_audit

pytestmark = pytest.mark.security

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        at=T0 + dt.timedelta(seconds=i, microseconds=13 * i),
        actor="m.manager",
        action="reply.recorded",
        outcome="findings",
        enquiry_id=str(uuid.UUID(int=i + 1)),
        reason="s47" if i % 2 else None,
        details={"request_id": str(uuid.UUID(int=10**6 + i)), "partner_id": "police"},
    )


async def inbox_size(engine) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as c:
        return len((await c.execute(audit_inbox.select())).all())


@pytest.mark.parametrize("db", ["sqlite", pytest.param("pg", marks=pytest.mark.integration)])
async def test_inbox_entries_join_the_log_only_when_sequenced_in_order(db: str, request: pytest.FixtureRequest) -> None:
    """Entries appended through the inbox are not in the log (and return no records) until
    `sequence` runs; it then moves them in the order written, in batches, into a log identical
    to one appended directly, and empties the inbox."""
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url")
    upgrade(url)
    engine = make_engine(url)
    try:
        for start in range(0, 25, 5):
            async with engine.begin() as c:
                assert await AuditRepository(c, inbox=True).append(*(entry(i) for i in range(start, start + 5))) == []
        async with engine.connect() as c:
            assert await AuditRepository(c).all() == []
            assert await AuditRepository(c).pending()
        moved = []
        while True:
            async with engine.begin() as c:
                n = await AuditRepository(c).sequence(limit=10)
            moved.append(n)
            if n == 0:
                break
        assert moved == [10, 10, 5, 0]
        assert await inbox_size(engine) == 0
        async with engine.connect() as c:
            records = await AuditRepository(c).all()
            assert not await AuditRepository(c).pending()
    finally:
        await engine.dispose()
    assert records == build_log(entry(i) for i in range(25))
    assert verify_audit(records, [], []).ok


async def test_a_rolled_back_use_case_leaves_nothing_to_sequence(sqlite_url: str) -> None:
    """An entry written to the inbox by a transaction that rolls back never reaches the log."""
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        async with engine.connect() as c:
            async with c.begin() as tx:
                await AuditRepository(c, inbox=True).append(entry(0))
                await tx.rollback()
        async with engine.begin() as c:
            assert await AuditRepository(c).sequence() == 0
            assert await AuditRepository(c).all() == []
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_postgres_concurrent_writers_and_two_sequencers_form_one_log(pg_url: str) -> None:
    """Eight writers fill the inbox while two sequencers (as two broker processes would) drain
    it at the same time: every entry lands in the log exactly once, gap-free, and it verifies."""
    upgrade(pg_url)
    engine = make_engine(pg_url)
    writing = True

    async def writer(w: int) -> None:
        for n in range(10):
            async with engine.begin() as c:
                await AuditRepository(c, inbox=True).append(*(entry(1000 * w + 10 * n + j) for j in range(3)))
            await asyncio.sleep(0)

    async def sequencer() -> None:
        while writing:
            async with engine.begin() as c:
                await AuditRepository(c).sequence(limit=7)
            await asyncio.sleep(0.001)

    try:
        sequencers = [asyncio.create_task(sequencer()) for _ in range(2)]
        await asyncio.gather(*(writer(w) for w in range(8)))
        writing = False
        await asyncio.gather(*sequencers)
        async with engine.begin() as c:
            await AuditRepository(c).sequence(limit=10_000)
        async with engine.connect() as c:
            records = await AuditRepository(c).all()
    finally:
        await engine.dispose()
    assert [r.event.index for r in records] == list(range(8 * 10 * 3))
    expected = sorted(1000 * w + 10 * n + j for w in range(8) for n in range(10) for j in range(3))
    assert sorted(int(uuid.UUID(r.event.details["request_id"])) - 10**6 for r in records) == expected
    assert verify_audit(records, [], []).ok
