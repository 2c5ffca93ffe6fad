"""Nothing lost, nothing twice, through RabbitMQ faults on a throw-away node: 300 enquiries ×
3 partner adapter processes, counted as effects (rows), not deliveries."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import build_broker
from tests.faults.harness import (
    adapter_processes,
    answered_in_store,
    effect_counts,
    fault_settings,
    searches_per_request,
    wait_for_counts,
)
from tests.faults.throwaway import RabbitNode
from tests.integration.helpers import open_scenario

pytestmark = [pytest.mark.faults, pytest.mark.timeout(420)]

ENQUIRIES = 300
SCENARIOS = ("all_sources_high_risk", "no_trace", "police_only", "health_only", "education_only")


async def run_with_fault(
    workspace: DevWorkspace, pg_url: str, amqp_url: str, logs: Path,
    fault: Callable[[], Awaitable[None]],
) -> None:
    broker = build_broker(fault_settings(workspace, database_url=pg_url, amqp_url=amqp_url))
    await broker.start()
    try:
        with adapter_processes(workspace, amqp_url, logs):
            scenarios = itertools.cycle(SCENARIOS)

            async def open_all() -> None:
                for _ in range(ENQUIRIES):
                    await open_scenario(broker, next(scenarios))

            opening = asyncio.create_task(open_all())
            await asyncio.sleep(1.0)  # mid-flight: some requests out, some replies back
            await fault()
            await opening
            counts = await wait_for_counts(
                broker, {"complete": ENQUIRIES, "replied": 3 * ENQUIRIES}, timeout=240
            )
        assert counts["enquiries"] == ENQUIRIES
        assert counts["replied"] == 3 * ENQUIRIES, counts  # 0 missing
        assert counts["pending"] == 0 and counts["unpublished"] == 0, counts
        assert counts["summaries"] == ENQUIRIES and counts["later_versions"] == 0, counts
        assert counts["rejected"] == 0, counts
        runs = searches_per_request(logs)
        assert len(runs) == 3 * ENQUIRIES and set(runs.values()) == {1}, runs.most_common(3)
        assert answered_in_store(logs / "state") == 3 * ENQUIRIES
    finally:
        await broker.stop()


async def test_stop_app_and_start_app_mid_flight_lose_nothing_and_duplicate_nothing(
    node: RabbitNode, node_vhost: str, workspace: DevWorkspace, pg_url: str, logs: Path
) -> None:
    """(a) RabbitMQ stopped and restarted (stop_app, 3 s, start_app) while 300 enquiries × 3
    partners are in flight: 900 replies recorded, 0 missing, 0 searches run twice, one summary each."""

    async def fault() -> None:
        await asyncio.to_thread(node.stop_app)
        await asyncio.sleep(3)
        await asyncio.to_thread(node.start_app)

    await run_with_fault(workspace, pg_url, node_vhost, logs, fault)


async def test_three_close_all_connections_lose_nothing_and_duplicate_nothing(
    node: RabbitNode, node_vhost: str, workspace: DevWorkspace, pg_url: str, logs: Path
) -> None:
    """(b) Every connection forcibly closed three times mid-flight: publishers and consumers
    reconnect by themselves; 900 replies, 0 missing, 0 duplicated effects."""

    async def fault() -> None:
        for _ in range(3):
            await asyncio.to_thread(node.close_all_connections)
            await asyncio.sleep(1.5)

    await run_with_fault(workspace, pg_url, node_vhost, logs, fault)


__all__ = ["effect_counts"]
