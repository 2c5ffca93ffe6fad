"""After an agreement's retention period the partners' findings are purged: replies, signed
replies and every summary version that embeds them go; outcome rows, summary hashes and an
audit tombstone stay."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import httpx
import pytest
from sqlalchemy import select

from broker.adapters.db import tables as t
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import build_broker
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from tests.conftest import bearer
from tests.integration.helpers import eventually, open_scenario

pytestmark = pytest.mark.security


class MovableClock:
    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


async def _stop_loop(broker, name: str) -> None:  # type: ignore[no-untyped-def]
    for task in [t for t in broker._tasks if t.get_name() == name]:  # noqa: SLF001
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        broker._tasks.remove(task)  # noqa: SLF001


async def test_findings_are_purged_after_retention_with_a_tombstone(
    workspace: DevWorkspace, sqlite_url: str
) -> None:
    """Before the sample agreement's 730 days nothing is purged; after, findings and summaries
    are gone (410 with the summary's hash), partners show 'purged', the request bodies are
    emptied, and the audit log records a findings.purged tombstone naming what went."""
    clock = MovableClock()
    broker = build_broker(Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05,
                                   sweep_interval_s=3600), clock=clock)
    await broker.start()
    try:
        # This test moves the clock and purges itself: the sweeper's own pass (run at start,
        # possibly still queued on SQLite's writer behind the enquiry) must not race it to it.
        await _stop_loop(broker, "deadline-sweeper")
        opened = await open_scenario(broker, "all_sources_high_risk")
        history = await eventually(lambda: broker.views.summaries(opened.enquiry_id))
        clock.offset = dt.timedelta(days=729)
        assert await broker.purge_expired() == 0
        clock.offset = dt.timedelta(days=731)
        assert await broker.purge_expired() == 3
        assert await broker.purge_expired() == 0  # once

        transport = httpx.ASGITransport(app=create_app(broker=broker))
        async with httpx.AsyncClient(transport=transport, base_url="http://b", headers=bearer(workspace)) as client:
            view = (await client.get(f"/enquiries/{opened.enquiry_id}")).json()
            gone = await client.get(f"/enquiries/{opened.enquiry_id}/summary")
            audit = (await client.get("/audit", params={"limit": 1000},
                                      headers=bearer(workspace, "auditor", sub="a"))).json()["events"]
        outcomes = {p["partner_id"]: (p["outcome"], p["findings"]) for p in view["partners"]}
        assert outcomes["police"] == ("purged", 0) and outcomes["health"] == ("purged", 0)
        assert outcomes["housing"][0] == "not_asked"
        assert gone.status_code == 410 and history[0].jws and "sha256" in gone.json()["detail"]
        [tombstone] = [e for e in audit if e["action"] == "findings.purged"]
        assert tombstone["enquiry_id"] == opened.enquiry_id
        assert tombstone["details"]["summary_ids"] == [history[0].summary_id]
        assert sorted(tombstone["details"]["partner_ids"]) == ["education", "health", "police"]
        assert "730 days" in tombstone["reason"]

        async with broker.engine.connect() as c:
            rows = (await c.execute(select(t.partner_requests.c.reply, t.partner_requests.c.reply_jws)
                                    .where(t.partner_requests.c.enquiry_id == opened.enquiry_id))).all()
            bodies = (await c.execute(select(t.outbox.c.body))).scalars().all()
            summaries = (await c.execute(select(t.summaries.c.jws, t.summaries.c.jws_sha256))).all()
        assert all(reply is None and jws is None for reply, jws in rows)
        assert all(body == b"" for body in bodies)
        assert summaries and all(jws is None and digest for jws, digest in summaries)
    finally:
        await broker.stop()
