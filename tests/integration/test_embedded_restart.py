"""The embedded default keeps its queues in memory: after a restart, requests still awaited
are sent again from the database, so an enquiry open at the crash still completes."""

from __future__ import annotations

from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import build_broker
from broker.config import Settings
from tests.integration.helpers import eventually, open_scenario


async def test_requests_lost_with_the_process_are_sent_again_on_restart(
    workspace: DevWorkspace, sqlite_url: str
) -> None:
    """An enquiry dispatched while no adapter ran (its requests only in memory) completes
    after the broker restarts with its adapters: nothing is lost with the in-process queues."""
    first = build_broker(Settings(dev_dir=workspace.root, database_url=sqlite_url,
                                  embedded_adapters=[], relay_poll_s=0.05))
    await first.start()
    opened = await open_scenario(first, "no_trace")
    assert first.bus is not None
    await eventually(lambda: _queued(first), timeout=10)
    await first.stop()  # the in-memory queues go with it

    second = build_broker(Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05))
    await second.start()
    try:
        done = await eventually(lambda: _closed(second, opened.enquiry_id), timeout=20)
        assert done.state.value == "complete"
        assert {r.partner_id: r.reply.outcome for r in done.requests if r.reply} == {
            "education": "no_trace", "health": "no_trace", "police": "no_trace"
        }
    finally:
        await second.stop()


async def _queued(broker) -> bool:  # type: ignore[no-untyped-def]
    bus = broker.bus
    return all(bus.depth(broker.topology.request_queue(p)) == 1 for p in ("police", "health", "education"))


async def _closed(broker, enquiry_id: str):  # type: ignore[no-untyped-def]
    enquiry = await broker.views.enquiry(enquiry_id)
    return enquiry if enquiry and enquiry.state.value != "dispatched" else None


LOOPS = {"outbox-relay", "deadline-sweeper", "audit-sequencer"}


async def test_only_one_process_runs_the_relay_and_sweeper_on_a_sqlite_file(
    workspace: DevWorkspace, sqlite_url: str
) -> None:
    """SQLite has no SKIP LOCKED: a second broker on the same file serves the API but runs no
    relay, sweeper or audit sequencer; once the first stops, a new one takes them over."""
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url, embedded_adapters=[])
    first, second = build_broker(settings), build_broker(settings)
    await first.start()
    await second.start()
    try:
        assert {t.get_name() for t in first._tasks} == LOOPS and second._tasks == []  # noqa: SLF001 - the loops themselves
    finally:
        await second.stop()
        await first.stop()
    third = build_broker(settings)
    await third.start()
    try:
        assert {t.get_name() for t in third._tasks} == LOOPS  # noqa: SLF001
    finally:
        await third.stop()
