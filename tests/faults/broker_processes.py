"""`mash-broker serve` as a separate process for fault tests, and effects counted per enquiry
through the test's own engine (rows, not deliveries)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from broker.adapters.dev_workspace import DevWorkspace
from broker.entrypoints.demo import scenario_enquiry
from tests.e2e.processes import env_with, free_port, run, started

SCENARIOS = ("all_sources_high_risk", "no_trace", "police_only", "health_only", "education_only")


def broker_env(workspace: DevWorkspace, *, database_url: str, amqp_url: str) -> dict[str, str]:
    """The broker's environment: the fault harness's quick relay and sweeper, and a
    per-principal opening rate these tests (one manager, hundreds of POSTs) never reach."""
    return env_with(
        MASH_DEV_DIR=str(workspace.root),
        MASH_DATABASE_URL=database_url,
        MASH_AMQP_URL=amqp_url,
        MASH_RELAY_POLL_S="0.1",
        MASH_SWEEP_INTERVAL_S="0.5",
        MASH_OPEN_RATE_PER_MINUTE="100000",
        MASH_OPEN_RATE_BURST="10000",
    )


def migrate(env: dict[str, str]) -> None:
    result = run(["mash-broker", "migrate"], env, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr


@dataclass
class BrokerProcess:
    base_url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    ready_after_s: float


def wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> float:
    """Seconds until /readyz answered 200; fails with the log's tail if it never does."""
    began = time.monotonic()
    stop = began + timeout
    while time.monotonic() < stop:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}: {tail(log)}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=3).status_code == 200:
                return time.monotonic() - began
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} not ready within {timeout} s: {tail(log)}")


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


@contextmanager
def broker_process(env: dict[str, str], log: Path, *, port: int | None = None) -> Iterator[BrokerProcess]:
    """`mash-broker serve` in the background, ready when yielded; stopped (or killed) on exit."""
    port = port or free_port()
    with started(["mash-broker", "serve", "--port", str(port)], env, log) as process:
        base = f"http://127.0.0.1:{port}"
        ready = wait_ready(base, process, log)
        yield BrokerProcess(base, port, process, log, ready)


@contextmanager
def paused(processes: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """SIGSTOP the processes; SIGCONT them on exit whatever happens (so they can be stopped)."""
    for p in processes:
        os.kill(p.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in processes:
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)


def enquiry_body(index: int) -> dict[str, Any]:
    return scenario_enquiry(SCENARIOS[index % len(SCENARIOS)])


def own_engine(database_url: str) -> AsyncEngine:
    """The test's own engine; no pool, so it holds no connection between checks."""
    return create_async_engine(database_url, poolclass=NullPool)


COUNTS = """
SELECT
  (SELECT count(*) FROM enquiries) AS enquiries,
  (SELECT count(*) FROM enquiries WHERE state = 'complete') AS complete,
  (SELECT count(*) FROM partner_requests WHERE status = 'replied') AS replied,
  (SELECT count(*) FROM partner_requests WHERE status = 'pending') AS pending,
  (SELECT count(*) FROM summaries) AS summaries,
  (SELECT count(*) FROM summaries WHERE version > 1) AS later_versions,
  (SELECT count(*) FROM rejected_messages) AS rejected,
  (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished,
  (SELECT count(*) FROM outbox) AS outbox_rows
"""

PER_ENQUIRY = """
SELECT e.enquiry_id, e.state,
  (SELECT count(*) FROM partner_requests pr
    WHERE pr.enquiry_id = e.enquiry_id AND pr.status = 'replied') AS replied,
  (SELECT count(*) FROM partner_requests pr
    WHERE pr.enquiry_id = e.enquiry_id AND pr.status = 'pending') AS pending,
  (SELECT count(*) FROM summaries s WHERE s.enquiry_id = e.enquiry_id) AS summaries,
  (SELECT coalesce(max(version), 0) FROM summaries s WHERE s.enquiry_id = e.enquiry_id) AS version
FROM enquiries e
"""


async def db_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as c:
        row = (await c.execute(text(COUNTS))).mappings().one()
    return {k: int(v) for k, v in row.items()}


async def per_enquiry(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    """enquiry id -> state, replied and pending requests, summaries, latest summary version."""
    async with engine.connect() as c:
        rows = (await c.execute(text(PER_ENQUIRY))).mappings().all()
    return {r["enquiry_id"]: dict(r) for r in rows}


async def replied_request_ids(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as c:
        rows = (await c.execute(text(
            "SELECT request_id FROM partner_requests WHERE status = 'replied'"))).all()
    return {r[0] for r in rows}


async def rejections(engine: AsyncEngine, limit: int = 5) -> list[dict[str, Any]]:
    async with engine.connect() as c:
        rows = (await c.execute(text(
            "SELECT queue, reason, request_id FROM rejected_messages ORDER BY id LIMIT :n"),
            {"n": limit})).mappings().all()
    return [dict(r) for r in rows]


def complete(row: dict[str, Any]) -> bool:
    """Closed with the three partners' replies and exactly one summary, version 1."""
    return (row["state"] == "complete" and row["replied"] == 3 and row["pending"] == 0
            and row["summaries"] == 1 and row["version"] == 1)


async def wait_complete(engine: AsyncEngine, ids: set[str], *, timeout: float) -> dict[str, dict[str, Any]]:
    """Poll until every enquiry in `ids` is complete (or the time is up); returns the last view."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + timeout
    rows = await per_enquiry(engine)
    while loop.time() < stop and not all(i in rows and complete(rows[i]) for i in ids):
        await asyncio.sleep(0.5)
        rows = await per_enquiry(engine)
    return rows


def incomplete(rows: dict[str, dict[str, Any]], ids: set[str]) -> list[dict[str, Any]]:
    return [rows.get(i, {"enquiry_id": i, "state": "missing"}) for i in sorted(ids)
            if i not in rows or not complete(rows[i])]
