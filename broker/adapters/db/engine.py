"""Engine creation with the settings each database needs."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# A connection used this recently is taken to be alive without asking the server (HikariCP's
# aliveBypassWindowMs is the same idea, at 500 ms); one idle for longer is pinged at checkout,
# as SQLAlchemy's pool_pre_ping would. Pinging every checkout cost three round trips (BEGIN,
# `;`, ROLLBACK on asyncpg) before each transaction: 1-2 ms each at concurrency 1, a dozen
# times per enquiry. A connection lost inside the window fails its statement instead; that is
# a disconnect error, which invalidates the whole pool, so the next checkouts reconnect.
LIVENESS_BYPASS_S = 0.5


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite with WAL, a busy timeout and foreign keys on."""
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    liveness_bypass_s = kwargs.pop("liveness_bypass_s", LIVENESS_BYPASS_S)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_connections_idle_for(engine, liveness_bypass_s)
    return engine


def ping_connections_idle_for(engine: AsyncEngine, seconds: float) -> None:
    """At checkout, ping a pooled connection unused for `seconds` or more; a dead one is
    replaced (and every connection pooled before it discarded) before the caller gets it."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "connect")
    def _fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["last_used"] = time.monotonic()

    @event.listens_for(pool, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["last_used"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get("last_used")
        if last_used is not None and time.monotonic() - last_used < seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.InvalidatePoolError() from error  # the pool reconnects and retries
            raise


def sync_url(url: str) -> str:
    """The synchronous driver URL Alembic runs migrations with."""
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")
