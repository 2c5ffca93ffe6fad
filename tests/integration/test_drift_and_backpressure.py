"""Escalation and back-pressure on the real RabbitMQ: a silent partner is chased with the same
request and shown as drifting; full queues make the API refuse new work (503) while accepted
work waits in the outbox and is delivered once there is room."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from broker.adapters.db import tables as t
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.demo import scenario_enquiry
from tests.conftest import bearer
from tests.integration.helpers import count, eventually, open_scenario
from tests.integration.partner import PartnerDriver

pytestmark = pytest.mark.integration


async def started(settings: Settings) -> Broker:
    broker = build_broker(settings)
    await broker.start()
    return broker


@pytest_asyncio.fixture(name="chasing_broker")
async def _chasing_broker(workspace: DevWorkspace, pg_url: str, amqp_url: str) -> AsyncIterator[Broker]:
    broker = await started(Settings(
        dev_dir=workspace.root, database_url=pg_url, amqp_url=amqp_url, relay_poll_s=0.1,
        sweep_interval_s=0.2, chase_share=0.5, timescales={"red": dt.timedelta(seconds=8)},
    ))
    yield broker
    await broker.stop()


async def test_silent_partner_is_chased_with_the_same_request_and_shown_drifting(
    chasing_broker: Broker, workspace: DevWorkspace, amqp_url: str
) -> None:
    """Half way to the deadline a partner that has not replied gets the same signed request
    again (same request id); the manager sees it late, by how much; its reply then completes."""
    broker = chasing_broker
    async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
        opened = await open_scenario(broker, brag="red")
        first = {p: await partner.take_request(p) for p in ("police", "health", "education")}
        for p in ("health", "education"):
            await partner.send(partner.envelope(partner.reply_payload(first[p]), signed_by=p))
        again = await partner.take_request("police", timeout=10)
        assert again.request_id == first["police"].request_id and again == first["police"]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(broker=broker)),
                                     base_url="http://broker", headers=bearer(workspace)) as client:
            view = (await client.get(f"/enquiries/{opened.enquiry_id}")).json()
        assert view["state"] == "dispatched" and view["at_risk_of_drift"] is True
        [late] = view["late_partners"]
        assert late["partner_id"] == "police" and late["share_of_time_used"] >= 0.5
        assert 0 < late["deadline_in_s"] <= 4.5
        await partner.send(partner.envelope(partner.reply_payload(again), signed_by="police"))
        done = await eventually(lambda: _closed(broker, opened.enquiry_id))
        assert done.state.value == "complete"
    assert await count(broker, t.outbox) == 4  # three requests and one chase


async def _closed(broker: Broker, enquiry_id: str):  # type: ignore[no-untyped-def]
    enquiry = await broker.views.enquiry(enquiry_id)
    return enquiry if enquiry and enquiry.state.value != "dispatched" else None


async def test_full_queues_make_the_api_answer_503_and_accepted_work_waits_in_the_outbox(
    workspace: DevWorkspace, pg_url: str, amqp_url: str
) -> None:
    """With bounded queues full (reject-publish), POST /enquiries answers 503 with Retry-After;
    enquiries already accepted are kept in the outbox and delivered once partners drain."""
    broker = await started(Settings(
        dev_dir=workspace.root, database_url=pg_url, amqp_url=amqp_url, relay_poll_s=0.1,
        amqp={"queue_max_length": 2}, backpressure_s=30,
    ))
    try:
        transport = httpx.ASGITransport(app=create_app(broker=broker))
        async with httpx.AsyncClient(transport=transport, base_url="http://broker",
                                     headers=bearer(workspace)) as client:
            accepted: list[str] = []
            refused = None
            for _ in range(10):
                response = await client.post("/enquiries", json=scenario_enquiry("no_trace"))
                if response.status_code == 503:
                    refused = response
                    break
                assert response.status_code == 201
                accepted.append(response.json()["enquiry_id"])
                await broker.relay.run_once()  # type: ignore[union-attr]
            assert refused is not None, "RabbitMQ never refused: the queues are not bounded"
            assert int(refused.headers["Retry-After"]) >= 1
            assert "queues full" in refused.json()["detail"]
            assert await count(broker, t.enquiries) == len(accepted)  # the refused one was not created
            waiting = await count(broker, t.outbox, t.outbox.c.published_at.is_(None))
            assert waiting > 0  # kept, not lost

            async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
                taken = {
                    (await partner.take_request(name, timeout=90)).request_id
                    for name in ("police", "health", "education")
                    for _ in accepted
                }
            assert len(taken) == 3 * len(accepted)
            assert await count(broker, t.outbox, t.outbox.c.published_at.is_(None)) == 0
    finally:
        await broker.stop()
