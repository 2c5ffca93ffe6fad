"""The audit log in SQLite and PostgreSQL: appends, the append-only guard on PostgreSQL, and the
six tamper cases applied with SQL and reported by the verifier at their exact index."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sdk.signing import SigningKey
from broker.adapters.db.audit_store import AuditRepository, audit_checkpoints, audit_events
from broker.adapters.db.engine import make_engine
from broker.adapters.db.migrate import upgrade
from broker.domain.audit import AuditEntry, AuditReport, Problem, build_log
from broker.domain.merkle import CompactRange
from broker.service.audit import read_checkpoint, sign_checkpoint, verify_audit, write_checkpoint
from tests.services import fresh_database

pytestmark = pytest.mark.security

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
SIZE = 1_000
CHECKPOINT_EVERY = 250
PARTNERS = ("police", "health", "education")


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        at=T0 + dt.timedelta(seconds=i, microseconds=7 * i),
        actor="manager:alice" if i % 3 else "system:sweeper",
        action=("enquiry.opened", "request.sent", "reply.recorded", "summary.issued")[i % 4],
        outcome=("dispatched", "sent", "findings", "partial")[i % 4],
        enquiry_id=None if i % 11 == 0 else str(uuid.UUID(int=i // 4 + 1)),
        reason="s47 Children Act 1989 enquiry" if i % 4 == 0 else None,
        details={"partner_id": PARTNERS[i % 3], "request_id": str(uuid.UUID(int=10**6 + i))},
    )


@dataclass(frozen=True)
class AuditDb:
    kind: str
    url: str
    jwks: dict[str, list[dict[str, str]]]
    external: list[str]  # checkpoint JWSs as partners hold them, outside the database


async def populate(url: str, key: SigningKey, size: int) -> list[str]:
    """Append `size` events in transactions of 1..37 events, with a signed checkpoint at every multiple of 250."""
    engine = make_engine(url)
    tokens: list[str] = []
    try:
        i, batch = 0, 1
        while i < size:
            count = min(batch, size - i, CHECKPOINT_EVERY - i % CHECKPOINT_EVERY)
            async with engine.begin() as connection:
                store = AuditRepository(connection)
                await store.append(*(entry(j) for j in range(i, i + count)))
                if (i + count) % CHECKPOINT_EVERY == 0:
                    checkpoint = await write_checkpoint(store, key, T0 + dt.timedelta(seconds=i + count))
                    assert checkpoint is not None
                    latest = await store.latest_checkpoint()
                    assert latest is not None and latest[0] == checkpoint
                    tokens.append(latest[1])
            i, batch = i + count, batch % 37 + 1
    finally:
        await engine.dispose()
    return tokens


@pytest.fixture(name="audit_db", scope="module",
                params=["sqlite", pytest.param("pg", marks=pytest.mark.integration)])
def _audit_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuditDb]:
    """A migrated database holding 1,000 appended events and checkpoints at 250, 500, 750, 1000."""
    key = SigningKey.generate()
    jwks = {"keys": [key.public_jwk()]}
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('audit') / 'audit.sqlite3'}"
        upgrade(url)
        yield AuditDb("sqlite", url, jwks, asyncio.run(populate(url, key, SIZE)))
    else:
        with fresh_database() as url:
            upgrade(url)
            yield AuditDb("pg", url, jwks, asyncio.run(populate(url, key, SIZE)))


async def rows_and_checkpoints(connection: AsyncConnection) -> tuple[list, list[str]]:
    store = AuditRepository(connection)
    return await store.all(), await store.checkpoints()


async def test_one_thousand_appended_events_verify(audit_db: AuditDb) -> None:
    """1,000 events appended over many transactions get indices 0..999 and verify against the stored and the external checkpoints."""
    engine = make_engine(audit_db.url)
    try:
        async with engine.connect() as connection:
            records, stored = await rows_and_checkpoints(connection)
            size, root = await AuditRepository(connection).head()
    finally:
        await engine.dispose()
    assert [r.event.index for r in records] == list(range(SIZE))
    assert stored == audit_db.external
    assert [read_checkpoint(t, audit_db.jwks).size for t in stored] == [250, 500, 750, 1000]
    report = verify_audit(records, stored, audit_db.jwks)
    assert report.ok and report.checkpoints_checked == 4
    assert (report.size, report.root) == (size, root) == (SIZE, records[-1].root_after)
    assert records == build_log(entry(i) for i in range(SIZE))  # what was stored is what was built


# --- tampering, as someone with write access to the database would -------------------------

async def as_dba(connection: AsyncConnection, kind: str) -> None:
    """Switch the append-only triggers off (PostgreSQL superuser), as an attacker with DBA rights would."""
    if kind == "pg":
        await connection.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        await connection.execute(text("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER"))


async def edit(c: AsyncConnection) -> None:
    await c.execute(text('UPDATE audit_events SET outcome = \'no_trace\' WHERE "index" = 437'))


async def delete(c: AsyncConnection) -> None:
    await c.execute(text('DELETE FROM audit_events WHERE "index" = 437'))


async def swap(c: AsyncConnection) -> None:
    await c.execute(text('UPDATE audit_events SET "index" = -1 WHERE "index" = 250'))
    await c.execute(text('UPDATE audit_events SET "index" = 250 WHERE "index" = 750'))
    await c.execute(text('UPDATE audit_events SET "index" = 750 WHERE "index" = -1'))


async def truncate(c: AsyncConnection) -> None:
    await c.execute(text('DELETE FROM audit_events WHERE "index" >= 900'))
    await c.execute(text("DELETE FROM audit_checkpoints WHERE size > 900"))


async def tail_range(c: AsyncConnection, size: int) -> CompactRange:
    """The compact range of the first `size` stored leaf hashes, as an attacker can rebuild it."""
    rows = await c.execute(text(f'SELECT leaf_hash FROM audit_events WHERE "index" < {size} ORDER BY "index"'))
    compact = CompactRange()
    for (leaf,) in rows:
        compact.append(bytes.fromhex(leaf))
    return compact


def row_values(record, compact: CompactRange) -> dict:
    event = record.event
    return {
        "index": event.index, "at": event.at, "actor": event.actor, "action": event.action,
        "enquiry_id": event.enquiry_id, "outcome": event.outcome, "reason": event.reason,
        "details": dict(event.details), "leaf_hash": record.leaf_hash,
        "root_after": record.root_after, "frontier": [h.hex() for h in compact.hashes],
    }


async def insert_forged(c: AsyncConnection) -> None:
    # Make room at 600 (two steps: the primary key is checked row by row), then add a forged
    # event whose leaf hash and running root are correct for the rows before it.
    await c.execute(text('UPDATE audit_events SET "index" = -("index" + 1) WHERE "index" >= 600'))
    await c.execute(text('UPDATE audit_events SET "index" = -"index" WHERE "index" < 0'))
    compact = await tail_range(c, 600)
    forged = AuditEntry(at=T0, actor="manager:mallory", action="consent.gate", outcome="passed",
                        enquiry_id=str(uuid.UUID(int=424242)), reason="forged approval")
    [record] = build_log([forged.at_index(600)], compact)
    await c.execute(insert(audit_events).values(**row_values(record, compact)))


async def full_recompute(c: AsyncConnection) -> None:
    # Edit event 900, then recompute every leaf hash, running root and frontier from there on.
    await c.execute(text('UPDATE audit_events SET outcome = \'no_trace\' WHERE "index" = 900'))
    records = await AuditRepository(c).all()
    compact = await tail_range(c, 900)
    values = []
    for record in records[900:]:
        [rebuilt] = build_log([record.event], compact)
        values.append({"k": rebuilt.event.index, "leaf": rebuilt.leaf_hash, "root": rebuilt.root_after,
                       "frontier": [h.hex() for h in compact.hashes]})
    await c.execute(
        update(audit_events).where(audit_events.c["index"] == bindparam("k"))
        .values(leaf_hash=bindparam("leaf"), root_after=bindparam("root"), frontier=bindparam("frontier")),
        values,
    )
    await c.execute(text("DELETE FROM audit_checkpoints WHERE size > 900"))


async def tampered(audit_db: AuditDb, tamper: Callable[[AsyncConnection], Awaitable[None]],
                   checkpoints: Callable[[list[str]], list[str]]) -> AuditReport:
    """Apply the tamper in a transaction, verify what the database then holds, and roll back."""
    engine = make_engine(audit_db.url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            try:
                await as_dba(connection, audit_db.kind)
                await tamper(connection)
                records, stored = await rows_and_checkpoints(connection)
                return verify_audit(records, checkpoints(stored), audit_db.jwks)
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


def stored_only(stored: list[str]) -> list[str]:
    return stored


CASES = {
    "edit": (edit, 437, Problem.EDITED),
    "delete": (delete, 437, Problem.DELETED),
    "swap": (swap, 250, Problem.SWAPPED),
    "insert": (insert_forged, 600, Problem.INSERTED),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_tamper_with_sql_is_reported_at_the_exact_index(audit_db: AuditDb, case: str) -> None:
    """Cases 1, 2, 3 and 5 done with SQL (triggers disabled as superuser on PostgreSQL) are found from the rows alone at the exact index."""
    tamper, index, problem = CASES[case]
    report = await tampered(audit_db, tamper, stored_only)
    assert (report.ok, report.first_bad_index, report.problem) == (False, index, problem), report.detail


async def test_truncated_tail_is_reported_against_external_checkpoints(audit_db: AuditDb) -> None:
    """Case 4: deleting events 900..999 and the checkpoints covering them passes on the database alone but is reported as truncated at 900 against the checkpoints partners hold."""
    alone = await tampered(audit_db, truncate, stored_only)
    assert alone.ok and alone.size == 900
    report = await tampered(audit_db, truncate, lambda stored: audit_db.external)
    assert (report.ok, report.first_bad_index, report.problem) == (False, 900, Problem.TRUNCATED)


async def test_full_recompute_is_caught_only_by_a_checkpoint_signed_before(audit_db: AuditDb) -> None:
    """Case 6: editing event 900 and recomputing every hash after it passes on the database alone; the checkpoint of size 1000 signed before the edit exposes it, narrowed to 750..999 by the one of size 750 that still matches."""
    alone = await tampered(audit_db, full_recompute, stored_only)
    assert alone.ok and alone.size == SIZE and alone.checkpoints_checked == 3
    report = await tampered(audit_db, full_recompute, lambda stored: audit_db.external)
    assert (report.ok, report.problem) == (False, Problem.CHECKPOINT_MISMATCH)
    assert report.first_bad_index == 750 and report.suspect_range == (750, SIZE)


# --- PostgreSQL: history cannot be rewritten through the application's connection ----------

@pytest.mark.integration
@pytest.mark.parametrize("statement", [
    'UPDATE audit_events SET outcome = \'no_trace\' WHERE "index" = 3',
    'DELETE FROM audit_events WHERE "index" = 3',
    "TRUNCATE audit_events",
    "UPDATE audit_checkpoints SET root = repeat('0', 64)",
    "DELETE FROM audit_checkpoints",
])
async def test_postgres_refuses_to_rewrite_audit_rows_even_for_the_owner(pg_url: str, statement: str) -> None:
    """On PostgreSQL an UPDATE, DELETE or TRUNCATE of audit rows raises, even as the owning superuser the app uses in development."""
    await populate(pg_url, SigningKey.generate(), CHECKPOINT_EVERY)
    engine = make_engine(pg_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                async with connection.begin():
                    await connection.execute(text(statement))
            assert len(await AuditRepository(connection).all()) == CHECKPOINT_EVERY
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_postgres_app_role_with_select_and_insert_appends_but_cannot_rewrite(pg_url: str) -> None:
    """A production-style role granted only SELECT and INSERT can append (the advisory lock needs no UPDATE right) and is refused UPDATE and DELETE."""
    role = f"mash_app_{uuid.uuid4().hex[:12]}"
    engine = make_engine(pg_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
            await connection.execute(text(f'GRANT SELECT, INSERT ON audit_events, audit_checkpoints TO "{role}"'))
        try:
            async with engine.begin() as connection:
                await connection.execute(text(f'SET LOCAL ROLE "{role}"'))
                await AuditRepository(connection).append(*(entry(i) for i in range(5)))
            for statement in ('UPDATE audit_events SET outcome = \'x\'', "DELETE FROM audit_events"):
                async with engine.connect() as connection:
                    with pytest.raises(DBAPIError, match="permission denied"):
                        async with connection.begin():
                            await connection.execute(text(f'SET LOCAL ROLE "{role}"'))
                            await connection.execute(text(statement))
            async with engine.connect() as connection:
                assert verify_audit(await AuditRepository(connection).all(), [], []).size == 5
        finally:
            async with engine.begin() as connection:
                await connection.execute(text(f'DROP OWNED BY "{role}"'))
                await connection.execute(text(f'DROP ROLE "{role}"'))
    finally:
        await engine.dispose()


@pytest.mark.integration
async def test_postgres_concurrent_appends_form_one_log(pg_url: str) -> None:
    """Eight transactions appending at once are serialised by the advisory lock into one gap-free log that verifies."""
    engine = make_engine(pg_url)

    async def writer(w: int) -> None:
        for n in range(5):
            async with engine.begin() as connection:
                await AuditRepository(connection).append(*(entry(100 * w + 10 * n + j) for j in range(3)))

    try:
        await asyncio.gather(*(writer(w) for w in range(8)))
        async with engine.connect() as connection:
            records = await AuditRepository(connection).all()
    finally:
        await engine.dispose()
    assert [r.event.index for r in records] == list(range(8 * 5 * 3))
    assert verify_audit(records, [], []).ok


# --- scale ----------------------------------------------------------------------------------

@pytest.mark.parametrize("db", ["sqlite", pytest.param("pg", marks=pytest.mark.integration)])
async def test_ten_thousand_events_read_and_verify_well_under_five_seconds(db: str, request: pytest.FixtureRequest) -> None:
    """Reading 10,000 stored events and verifying them with a signed checkpoint takes well under 5 s."""
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url")
    key = SigningKey.generate()
    engine = make_engine(url)
    try:
        for start in range(0, 10_000, 1_000):
            async with engine.begin() as connection:
                await AuditRepository(connection).append(*(entry(i) for i in range(start, start + 1_000)))
        async with engine.begin() as connection:
            store = AuditRepository(connection)
            assert await write_checkpoint(store, key, T0) is not None
        started = time.perf_counter()
        async with engine.connect() as connection:
            records, stored = await rows_and_checkpoints(connection)
        loaded = time.perf_counter()
        report = verify_audit(records, stored, {"keys": [key.public_jwk()]})
        done = time.perf_counter()
    finally:
        await engine.dispose()
    print(f"{db}: read 10,000 audit rows in {loaded - started:.3f} s, verified in {done - loaded:.3f} s")
    assert report.ok and report.size == 10_000 and report.checkpoints_checked == 1
    assert done - started < 5.0


async def test_sign_checkpoint_over_a_store_head(sqlite_url: str) -> None:
    """write_checkpoint signs the stored head, skips when nothing new was appended, and the stored JWS verifies."""
    key = SigningKey.generate()
    engine = make_engine(sqlite_url)
    try:
        async with engine.begin() as connection:
            store = AuditRepository(connection)
            assert await write_checkpoint(store, key, T0) is None  # empty log
            await store.append(entry(0), entry(1), entry(2))
            first = await write_checkpoint(store, key, T0)
            assert first is not None and first.size == 3
            assert await write_checkpoint(store, key, T0) is None
            records = await store.all()
            assert first.root == records[-1].root_after == (await store.head())[1]
            assert verify_audit(records, await store.checkpoints(), [key.public_jwk()]).ok
            token = sign_checkpoint(first.root, 3, T0, key)
            assert (await store.latest_checkpoint()) == (first, token)
    finally:
        await engine.dispose()


def test_tables_are_on_the_shared_metadata() -> None:
    """The audit tables live on tables.metadata, so migrations and the drift check see them."""
    from broker.adapters.db.tables import metadata

    assert metadata.tables["audit_events"] is audit_events
    assert metadata.tables["audit_checkpoints"] is audit_checkpoints
