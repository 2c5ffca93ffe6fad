"""Views carry partners' findings, so they go with them when the agreement's retention ends."""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest
from sqlalchemy import select

from broker.adapters.db import delivery_tables as d
from broker.adapters.db import tables as t
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import build_broker
from broker.config import Settings
from broker.domain.decision import Outcome
from broker.entrypoints.api.app import create_app
from tests.conftest import bearer
from tests.integration.delivery_helpers import contact_for, decision_on
from tests.integration.helpers import eventually, open_scenario
from tests.security.test_retention import MovableClock

pytestmark = pytest.mark.security


async def test_views_are_purged_with_the_findings_they_carry(workspace: DevWorkspace, sqlite_url: str) -> None:
    """After retention the view's signed body and its outbox copy are gone and it is never re-sent;
    its id and SHA-256 stay (a service's held copy can still be matched) and the tombstone names it."""
    clock = MovableClock()
    broker = build_broker(Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05,
                                   sweep_interval_s=3600), clock=clock)
    await broker.start()
    try:
        opened = await open_scenario(broker, "all_sources_high_risk")
        history = await eventually(lambda: broker.views.summaries(opened.enquiry_id))
        decision = decision_on(opened.enquiry_id, history[-1], Outcome.EARLY_HELP)
        [view_id] = await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
        async with broker.uow() as uow:
            jws = (await uow.deliveries.get(view_id)).jws  # type: ignore[union-attr]
        assert jws
        clock.offset = dt.timedelta(days=731)
        assert await broker.purge_expired() == 3
        assert await broker.deliveries.sweep() == (0, 0)  # type: ignore[union-attr]  # nothing re-sent
        assert await broker.deliveries.sweep_webhooks() == 0  # type: ignore[union-attr]

        async with broker.engine.connect() as c:
            row = (await c.execute(select(d.service_views).where(d.service_views.c.view_id == view_id))).mappings().one()
            bodies = (await c.execute(select(t.outbox.c.body).where(t.outbox.c.correlation_id == view_id))).scalars().all()
        assert row["jws"] is None and row["purged_at"] is not None and row["ack_due_at"] is None
        assert row["jws_sha256"] == hashlib.sha256(jws.encode("ascii")).hexdigest()
        assert bodies == [b""]
        transport = httpx.ASGITransport(app=create_app(broker=broker))
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            [item] = (await client.get("/services/early-help/views",
                                       headers=bearer(workspace, "service:early-help", sub="eh"))).json()["items"]
            audit = (await client.get("/audit", params={"limit": 1000},
                                      headers=bearer(workspace, "auditor", sub="a"))).json()["events"]
        assert item["jws"] is None and item["purged_at"] is not None and item["view_sha256"] == row["jws_sha256"]
        [tombstone] = [e for e in audit if e["action"] == "findings.purged"]
        assert tombstone["details"]["view_ids"] == [view_id]
    finally:
        await broker.stop()
