"""Pooled PostgreSQL connections: checked at checkout only when idle, replaced when dead.

The engine pings a pooled connection at checkout only if it has been unused for longer than
the liveness window (broker/adapters/db/engine.py); these pin down what that means when the
server ends a connection behind the pool's back (a restart, a failover, an idle timeout).
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy.exc
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.adapters.db.engine import make_engine

pytestmark = pytest.mark.integration


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as c:
        return int((await c.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(url: str, pid: int) -> None:
    """End one backend from outside the pool, as a server restart would."""
    outsider = make_engine(url)
    try:
        async with outsider.connect() as c:
            assert (await c.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()
    finally:
        await outsider.dispose()


def _count_pings(engine: AsyncEngine) -> list[object]:
    """The connections the engine pings from now on (the real ping still runs)."""
    pinged: list[object] = []
    original = engine.sync_engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pinged.append(dbapi_connection)
        return original(dbapi_connection)

    engine.sync_engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
    return pinged


async def test_a_connection_killed_while_idle_is_replaced_before_use(pg_url: str) -> None:
    """Idle longer than the window: the checkout pings it, finds it dead, and hands out a
    new connection; the caller never sees an error."""
    engine = make_engine(pg_url, pool_size=1, max_overflow=0, liveness_bypass_s=0.2)
    try:
        first = await _backend_pid(engine)
        await _terminate(pg_url, first)
        await asyncio.sleep(0.3)
        second = await _backend_pid(engine)
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_killed_inside_the_window_fails_once_then_the_pool_recovers(pg_url: str) -> None:
    """Used moments ago, it is not pinged: the statement fails as a disconnect (which the
    API answers as 503 and the consumers retry), the pool is invalidated, and the very next
    checkout gets a live connection."""
    engine = make_engine(pg_url, pool_size=1, max_overflow=0, liveness_bypass_s=60)
    try:
        first = await _backend_pid(engine)
        await _terminate(pg_url, first)
        await asyncio.sleep(0.1)  # let the server finish closing it
        with pytest.raises(sqlalchemy.exc.DBAPIError) as failed:
            await _backend_pid(engine)
        assert failed.value.connection_invalidated
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


async def test_a_busy_connection_is_not_pinged_at_every_checkout(pg_url: str) -> None:
    """Within the window, checkouts add no round trip: the server sees only our statements."""
    engine = make_engine(pg_url, pool_size=1, max_overflow=0, liveness_bypass_s=60)
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    pinged = _count_pings(engine)
    try:
        for _ in range(5):
            await _backend_pid(engine)
        assert pinged == [] and len(statements) == 5
    finally:
        await engine.dispose()


async def test_an_idle_connection_is_pinged_at_checkout(pg_url: str) -> None:
    """Past the window, exactly one ping precedes the caller's statement."""
    engine = make_engine(pg_url, pool_size=1, max_overflow=0, liveness_bypass_s=0.05)
    pinged = _count_pings(engine)
    try:
        await _backend_pid(engine)
        await asyncio.sleep(0.1)
        await _backend_pid(engine)
        assert len(pinged) == 1
    finally:
        await engine.dispose()
