"""(h) Model-based: hypothesis drives random sequences of submissions, duplicate deliveries,
adapter kills and forced reconnections against the real broker, adapters and RabbitMQ
(throw-away node), then lets the system settle and checks the invariant that matters:
each (enquiry, partner) has exactly one recorded outcome and each search ran once."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aio_pika
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from sqlalchemy import select

from adapters.sdk.bootstrap import build_runner
from adapters.sdk.config import AdapterSettings
from adapters.sdk.dedupe import AnsweredRequests
from adapters.sdk.messages import Answer, PartnerRequest
from adapters.sdk.registry import load_search
from adapters.sdk.runner import AdapterRunner
from adapters.sdk.transport.amqp import AmqpTransport
from adapters.sdk.transport.topology import REPLY_ROUTING_KEY, Topology
from broker.adapters.db import tables as t
from broker.adapters.db.migrate import upgrade
from broker.adapters.dev_workspace import DevWorkspace, init_workspace
from broker.bootstrap import Broker, build_broker
from tests.faults.harness import PARTNERS, effect_counts, fault_settings, wait_for_counts
from tests.faults.throwaway import RabbitNode
from tests.integration.helpers import open_scenario
from tests.services import fresh_database

pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]

T = TypeVar("T")
SCENARIOS = ("all_sources_high_risk", "no_trace", "police_only", "health_only")


class LoopThread:
    """An asyncio loop in a thread, so hypothesis' synchronous rules can drive async code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


class Partner:
    """One partner's adapter, killable and restartable with the same dedupe store."""

    def __init__(self, name: str, workspace: DevWorkspace, url: str, state: Path, runs: Counter[str]) -> None:
        self.name, self.workspace, self.url, self.state, self.runs = name, workspace, url, state, runs
        self.transport: AmqpTransport | None = None
        real = load_search(name)

        async def counted(request: PartnerRequest) -> Answer:
            self.runs[request.request_id] += 1
            return await real(request)

        self.search = counted

    async def start(self) -> None:
        self.transport = AmqpTransport(self.url, Topology(partners=(self.name,)), declare=False, prefetch=8)
        runner: AdapterRunner = build_runner(
            self.name, AdapterSettings(dev_dir=self.workspace.root), self.transport,
            search=self.search, answered=AnsweredRequests(self.state / f"{self.name}.sqlite3"),
        )
        await self.transport.start()
        await self.transport.consume(Topology(partners=(self.name,)).request_queue(self.name), runner.handle)

    async def kill(self) -> None:
        assert self.transport is not None
        await self.transport.close()  # unacknowledged requests go back to the queue


class EnquiryPipeline(RuleBasedStateMachine):
    node: RabbitNode
    root: Path

    def __init__(self) -> None:
        super().__init__()
        self.io = LoopThread()
        self.submitted: list[str] = []
        self.runs: Counter[str] = Counter()
        self._database = fresh_database()

    @initialize()
    def start(self) -> None:
        run_dir = self.root / uuid.uuid4().hex[:8]
        self.workspace = init_workspace(run_dir / "dev")
        vhost = f"model-{uuid.uuid4().hex[:8]}"
        self.node.ctl("add_vhost", vhost)
        self.node.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        self.vhost, self.url = vhost, f"{self.node.url}{vhost}"
        self.database_url = self._database.__enter__()
        upgrade(self.database_url)
        self.broker: Broker = build_broker(
            fault_settings(self.workspace, database_url=self.database_url, amqp_url=self.url)
        )
        self.io.run(self.broker.start())
        self.partners = {
            name: Partner(name, self.workspace, self.url, run_dir / "state", self.runs) for name in PARTNERS
        }
        for partner in self.partners.values():
            self.io.run(partner.start())

    @rule(scenario=st.sampled_from(SCENARIOS))
    def submit(self, scenario: str) -> None:
        opened = self.io.run(open_scenario(self.broker, scenario))
        self.submitted.append(opened.enquiry_id)

    @precondition(lambda self: bool(self.submitted))
    @rule(data=st.data())
    def duplicate_request_delivery(self, data: st.DataObject) -> None:
        """The same request published again (an at-least-once relay retry)."""
        enquiry_id = data.draw(st.sampled_from(self.submitted))
        self.io.run(self._republish(enquiry_id, replies=False))

    @precondition(lambda self: bool(self.submitted))
    @rule(data=st.data())
    def duplicate_reply_delivery(self, data: st.DataObject) -> None:
        """A partner's reply delivered again (an adapter retrying after a lost confirm)."""
        enquiry_id = data.draw(st.sampled_from(self.submitted))
        self.io.run(self._republish(enquiry_id, replies=True))

    @rule(name=st.sampled_from(PARTNERS))
    def kill_and_restart_adapter(self, name: str) -> None:
        self.io.run(self.partners[name].kill())
        self.io.run(self.partners[name].start())

    @rule()
    def force_reconnect(self) -> None:
        self.node.ctl("close_all_connections", "-p", self.vhost, "model-based test")

    async def _republish(self, enquiry_id: str, *, replies: bool) -> None:
        async with self.broker.engine.connect() as c:
            if replies:
                rows = (await c.execute(
                    select(t.partner_requests.c.request_id, t.partner_requests.c.reply_jws)
                    .where(t.partner_requests.c.enquiry_id == enquiry_id)
                    .where(t.partner_requests.c.reply_jws.is_not(None))
                )).all()
                cipher = self.broker.cipher  # sealed at rest: open as the broker does
                bodies = [
                    (json.dumps({"v": 1, "type": "mash.partner-reply", "jws": cipher.open_text(
                        jws, context=f"partner_requests.reply_jws:{request_id}")}).encode(), None)
                    for request_id, jws in rows
                ]
            else:
                requests = select(t.partner_requests.c.request_id).where(
                    t.partner_requests.c.enquiry_id == enquiry_id)
                rows = (await c.execute(
                    select(t.outbox.c.body, t.outbox.c.routing_key, t.outbox.c.correlation_id)
                    .where(t.outbox.c.correlation_id.in_(requests))
                )).all()
                bodies = [
                    (self.broker.cipher.open(bytes(r[0]).decode(), context=f"outbox.body:{r[2]}"), (r[1], r[2]))
                    for r in rows
                ]
        connection = await aio_pika.connect(self.url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            topology = self.broker.topology
            for body, route in bodies:
                exchange_name = topology.replies_exchange if route is None else topology.requests_exchange
                exchange = await channel.get_exchange(exchange_name)
                await exchange.publish(
                    aio_pika.Message(
                        body, message_id=str(uuid.uuid4()),
                        correlation_id=None if route is None else route[1],
                        type="mash.partner-reply" if route is None else "mash.partner-request",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=REPLY_ROUTING_KEY if route is None else route[0],
                )

    def teardown(self) -> None:
        try:
            if hasattr(self, "broker"):
                n = len(self.submitted)
                counts = self.io.run(
                    wait_for_counts(self.broker, {"complete": n, "replied": 3 * n}, timeout=90), timeout=120
                )
                # The invariant: each (enquiry, partner) has exactly one recorded outcome...
                assert counts["enquiries"] == n and counts["complete"] == n, counts
                assert counts["replied"] == 3 * n and counts["pending"] == 0, counts
                # ...one summary each, never re-issued by a duplicate...
                assert counts["summaries"] == n and counts["later_versions"] == 0, counts
                # ...and duplicates were recognised as such, not refused as garbage.
                assert counts["rejected"] == 0, counts
                # ...and each partner's search ran exactly once per request.
                assert len(self.runs) == 3 * n and set(self.runs.values()) <= {1}, self.runs.most_common(3)
        finally:
            if hasattr(self, "broker"):
                for partner in self.partners.values():
                    try:
                        self.io.run(partner.kill())
                    except Exception:  # already closed by a failed step
                        pass
                self.io.run(self.broker.stop())
                self.node.ctl("delete_vhost", self.vhost)
                self._database.__exit__(None, None, None)
            self.io.close()


def test_each_enquiry_and_partner_has_exactly_one_outcome_under_random_faults(
    node: RabbitNode, tmp_path: Path
) -> None:
    """(h) Random sequences of submit, duplicate request and reply deliveries, adapter kills
    and forced reconnections (bounded: 4 examples x up to 12 steps) always settle to one
    recorded outcome per (enquiry, partner) and one search per request."""
    EnquiryPipeline.node = node
    EnquiryPipeline.root = tmp_path
    run = settings(
        max_examples=4, stateful_step_count=12, deadline=None,
        suppress_health_check=list(HealthCheck),
    )(EnquiryPipeline).TestCase
    run().runTest()


__all__ = ["effect_counts"]
