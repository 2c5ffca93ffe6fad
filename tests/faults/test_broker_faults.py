"""Broker-process and database faults: `mash-broker serve` killed mid fan-out, PostgreSQL stopped
for ten seconds, and two broker processes sharing one database. Separate processes over HTTP
and a throw-away RabbitMQ node; effects counted as rows and adapter searches, not deliveries."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from broker.adapters.dev_workspace import DevWorkspace
from tests.conftest import bearer
from tests.faults.broker_processes import (
    broker_env,
    broker_process,
    complete,
    db_counts,
    enquiry_body,
    incomplete,
    migrate,
    own_engine,
    paused,
    rejections,
    replied_request_ids,
    wait_complete,
)
from tests.faults.harness import adapter_processes, searches_per_request
from tests.faults.throwaway import postgres_cluster

pytestmark = [pytest.mark.faults, pytest.mark.timeout(420)]


def log_events(log: Path, event: str) -> int:
    """How many JSON log lines of `log` are `event` (a SIGKILLed writer may leave half a line)."""
    total = 0
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"{event}"' in line:
            try:
                total += json.loads(line).get("event") == event
            except json.JSONDecodeError:
                pass
    return total


def replays(logs: Path) -> int:
    """Stored replies the adapters published again for a request delivered again."""
    total = 0
    for log in logs.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"request_answered"' in line and '"replay": true' in line:
                total += 1
    return total


async def assert_searched_once_per_replied_request(engine: Any, logs: Path) -> None:
    runs = searches_per_request(logs)
    replied = await replied_request_ids(engine)
    twice = {r: n for r, n in runs.items() if n != 1}
    assert not twice, f"searches run more than once: {list(twice.items())[:5]}"
    assert set(runs) == replied, (
        f"{len(set(runs) - replied)} searched but not recorded as replied, "
        f"{len(replied - set(runs))} replied without a search"
    )


# (d) ------------------------------------------------------------------------------------------

POSTS = 100
KILL_AFTER = 30
CONCURRENCY_BEFORE_KILL = 4


async def test_broker_killed_mid_fan_out_resumes_and_completes_every_enquiry(
    node_vhost: str, workspace: DevWorkspace, pg_url: str, logs: Path, tmp_path: Path
) -> None:
    """(d) `mash-broker serve` SIGKILLed after 30 enquiries were answered 201, with POSTs in
    flight and the relay fanning out; restarted on the same database and vhost; 100 POSTs in
    all. Every 201 completes (3 replies, one summary v1), nothing is half-done, no search runs
    twice, no outbox row is left unpublished."""
    env = broker_env(workspace, database_url=pg_url, amqp_url=node_vhost)
    migrate(env)
    manager = bearer(workspace, "mash_manager")
    engine = own_engine(pg_url)
    answered: dict[int, str] = {}  # POST index -> enquiry id, for every 201
    unanswered: list[int] = []  # POSTs the kill cut off
    observed: dict[str, Any] = {}
    try:
        with ExitStack() as stack:
            first = stack.enter_context(broker_process(env, tmp_path / "broker-1.log"))
            stack.enter_context(adapter_processes(workspace, node_vhost, logs))

            async with httpx.AsyncClient(base_url=first.base_url, timeout=30, headers=manager) as client:
                next_index = iter(range(POSTS))
                killed = asyncio.Event()
                taken: list[int] = []

                async def worker() -> None:
                    while not killed.is_set():
                        i = next(next_index, None)
                        if i is None:
                            return
                        taken.append(i)
                        try:
                            r = await client.post("/enquiries", json=enquiry_body(i))
                        except httpx.HTTPError:
                            unanswered.append(i)
                            continue
                        if killed.is_set() and r.status_code != 201:
                            unanswered.append(i)
                            continue
                        assert r.status_code == 201, r.text
                        answered[i] = r.json()["enquiry_id"]
                        if len(answered) >= KILL_AFTER and not killed.is_set():
                            # The relay was woken by this commit and is publishing; others
                            # are mid-POST: kill now, no grace.
                            first.process.kill()
                            killed.set()

                await asyncio.wait_for(
                    asyncio.gather(*(worker() for _ in range(CONCURRENCY_BEFORE_KILL))), timeout=120
                )
                assert await asyncio.to_thread(first.process.wait, 30) == -9
            observed["in_flight_at_kill"] = len(unanswered)
            observed["answered_before_restart"] = len(answered)
            at_kill = await db_counts(engine)
            observed["unpublished_outbox_rows_at_kill"] = at_kill["unpublished"]
            observed["enquiries_at_kill"] = at_kill["enquiries"]

            began = time.monotonic()
            second = stack.enter_context(
                broker_process(env, tmp_path / "broker-2.log", port=first.port)
            )
            observed["restart_ready_s"] = round(time.monotonic() - began, 1)
            rest = [i for i in range(POSTS) if i not in taken]
            async with httpx.AsyncClient(base_url=second.base_url, timeout=30, headers=manager) as client:
                for i in rest:
                    r = await client.post("/enquiries", json=enquiry_body(i))
                    assert r.status_code == 201, r.text
                    answered[i] = r.json()["enquiry_id"]
            ids = set(answered.values())
            began = time.monotonic()
            rows = await wait_complete(engine, ids, timeout=180)
            extras = set(rows) - ids
            rows = await wait_complete(engine, ids | extras, timeout=30)
            observed["all_complete_after_s"] = round(time.monotonic() - began, 1)
            counts = await db_counts(engine)
            observed["replies_recorded_by_restarted_broker"] = log_events(
                tmp_path / "broker-2.log", "reply_recorded")
            observed["replies_replayed_by_adapters"] = replays(logs)
        print(f"\n(d) observed: {observed}; counts: {counts}")

        assert len(answered) + len(unanswered) == POSTS
        assert not incomplete(rows, ids), incomplete(rows, ids)[:5]
        # Nothing half-done: a POST cut off by the kill created nothing or a complete enquiry.
        assert len(extras) <= len(unanswered), (extras, unanswered)
        assert all(complete(rows[e]) for e in extras), [rows[e] for e in extras]
        assert counts["enquiries"] == len(answered) + len(extras), (counts, len(answered), extras)
        assert counts["replied"] == 3 * counts["enquiries"], counts
        assert counts["pending"] == 0 and counts["unpublished"] == 0, counts
        assert counts["summaries"] == counts["enquiries"] and counts["later_versions"] == 0, counts
        assert counts["rejected"] == 0, await rejections(engine)
        await assert_searched_once_per_replied_request(engine, logs)
    finally:
        await engine.dispose()


# (f) ------------------------------------------------------------------------------------------

ATTEMPTS = 60
INTERVAL_S = 25 / ATTEMPTS
OUTAGE_AFTER = 10  # successful POSTs
OUTAGE_S = 10.0
STACK_TRACE_MARKS = ("Traceback", 'File "', ".py", "asyncpg", "sqlalchemy")


async def test_postgres_stopped_for_ten_seconds_gives_503_then_every_enquiry_completes(
    node_vhost: str, workspace: DevWorkspace, logs: Path, tmp_path: Path
) -> None:
    """(f) The broker's PostgreSQL cluster stopped for 10 s while enquiries are POSTed: every
    answer in the outage is 503 with Retry-After (never 500, no stack trace), /readyz is 503
    then 200, and every enquiry answered 201 completes with exactly 3 replies. The adapters are
    paused just before the outage and resumed during it, so their replies to the last requests
    reach the broker while its database is down: those must be retried, not lost."""
    loop = asyncio.get_running_loop()
    posts: list[dict[str, Any]] = []
    ready: list[tuple[float, int]] = []
    outage: dict[str, float] = {}
    observed: dict[str, Any] = {}
    with ExitStack() as stack:
        cluster = stack.enter_context(postgres_cluster())
        admin = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute("CREATE DATABASE mash")
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/mash"
        env = broker_env(workspace, database_url=url, amqp_url=node_vhost)
        migrate(env)
        manager = bearer(workspace, "mash_manager")
        engine = own_engine(url)
        broker = stack.enter_context(broker_process(env, tmp_path / "broker.log"))
        adapters = stack.enter_context(adapter_processes(workspace, node_vhost, logs))

        async def fault() -> None:
            with paused(list(adapters.values())):
                await asyncio.sleep(1.0)  # a few more 201s whose requests now wait for replies
                outage["stop_called"] = loop.time()
                await asyncio.to_thread(cluster.stop)
                outage["stopped"] = loop.time()
                await asyncio.sleep(1.5)
            # Resumed: the adapters answer what piled up, into a broker without its database.
            await asyncio.sleep(max(0.0, outage["stop_called"] + OUTAGE_S - loop.time()))
            outage["start_called"] = loop.time()
            await asyncio.to_thread(cluster.start)
            outage["started"] = loop.time()

        faulting: asyncio.Task[None] | None = None
        try:
            async with httpx.AsyncClient(base_url=broker.base_url, timeout=15, headers=manager) as client:
                t0 = loop.time()
                for i in range(ATTEMPTS):
                    await asyncio.sleep(max(0.0, t0 + i * INTERVAL_S - loop.time()))
                    sent = loop.time()
                    try:
                        r = await client.post("/enquiries", json=enquiry_body(i))
                        posts.append({"i": i, "sent": sent, "done": loop.time(), "status": r.status_code,
                                      "retry_after": r.headers.get("retry-after"), "text": r.text,
                                      "id": r.json().get("enquiry_id") if r.status_code == 201 else None})
                    except httpx.HTTPError as error:
                        posts.append({"i": i, "sent": sent, "done": loop.time(), "status": None,
                                      "retry_after": None, "text": repr(error), "id": None})
                    try:
                        ready.append((loop.time(), (await client.get("/readyz")).status_code))
                    except httpx.HTTPError:
                        ready.append((loop.time(), -1))
                    if faulting is None and sum(p["status"] == 201 for p in posts) >= OUTAGE_AFTER:
                        faulting = asyncio.create_task(fault())
                assert faulting is not None
                await asyncio.wait_for(faulting, timeout=60)
                # Bounded: wait for readiness after the restart if the loop ended first.
                stop = loop.time() + 60
                while loop.time() < stop and not any(
                    t >= outage["started"] and s == 200 for t, s in ready
                ):
                    await asyncio.sleep(0.2)
                    try:
                        ready.append((loop.time(), (await client.get("/readyz")).status_code))
                    except httpx.HTTPError:
                        ready.append((loop.time(), -1))

            ids = {p["id"] for p in posts if p["status"] == 201}
            began = loop.time()
            rows = await wait_complete(engine, ids, timeout=90)
            observed["complete_after_restart_s"] = round(loop.time() - outage["started"], 1)
            observed["waited_for_completion_s"] = round(loop.time() - began, 1)
            counts = await db_counts(engine)
            rejected = await rejections(engine)
            extras = set(rows) - ids
        finally:
            if faulting is not None and not faulting.done():
                faulting.cancel()  # `paused` resumes the adapters as it unwinds
                await asyncio.gather(faulting, return_exceptions=True)
            await engine.dispose()
    broker_log = tmp_path / "broker.log"
    retries = log_events(broker_log, "reply_waiting_for_database")
    statuses = [p["status"] for p in posts]
    during = [p for p in posts if p["sent"] >= outage["stopped"] and p["done"] <= outage["start_called"]]
    first_201_after = min((p["done"] for p in posts if p["status"] == 201 and p["sent"] >= outage["started"]),
                          default=None)
    first_ready_after = min((t for t, s in ready if t >= outage["started"] and s == 200), default=None)
    observed.update(
        statuses={s: statuses.count(s) for s in set(statuses)},
        during_outage=len(during),
        stop_took_s=round(outage["stopped"] - outage["stop_called"], 2),
        down_s=round(outage["started"] - outage["stopped"], 1),
        start_took_s=round(outage["started"] - outage["start_called"], 2),
        first_201_after_start_s=round(first_201_after - outage["started"], 2) if first_201_after else None,
        readyz_200_after_start_s=round(first_ready_after - outage["started"], 2) if first_ready_after else None,
        reply_retries_logged=retries,
        dead_letters_recorded=log_events(broker_log, "dead_letter_recorded"),
        extras=len(extras),
    )
    print(f"\n(f) observed: {observed}; counts: {counts}")

    # Every answer is a 201 or a 503; nothing went unanswered and nothing was a 500.
    assert all(s in (201, 503) for s in statuses), [
        (p["status"], p["text"][:300]) for p in posts if p["status"] not in (201, 503)]
    for p in posts:
        if p["status"] == 503:
            assert p["retry_after"] and int(p["retry_after"]) > 0, p
            assert not any(mark in p["text"] for mark in STACK_TRACE_MARKS), p["text"][:500]
            assert "detail" in json.loads(p["text"]), p["text"][:500]
    assert during and all(p["status"] == 503 for p in during), [(p["i"], p["status"]) for p in during]
    assert any(outage["stopped"] <= t <= outage["start_called"] and s == 503 for t, s in ready), ready
    assert first_ready_after is not None, ready[-5:]
    assert first_201_after is not None, "no enquiry was accepted after the database came back"

    # Replies that reached the broker while its database was down were retried, not lost.
    assert retries > 0, "no reply reached the broker during the outage: the fault did not bite"
    assert not incomplete(rows, ids), (
        f"{len(incomplete(rows, ids))} of {len(ids)} enquiries answered 201 did not complete: "
        f"{incomplete(rows, ids)[:3]}; rejected {counts['rejected']}: {rejected}"
    )
    assert all(complete(rows[e]) for e in extras), [rows[e] for e in extras]  # nothing half-done
    assert counts["replied"] == 3 * counts["enquiries"], counts
    assert counts["pending"] == 0 and counts["unpublished"] == 0, counts
    assert counts["summaries"] == counts["enquiries"] and counts["later_versions"] == 0, counts
    assert counts["rejected"] == 0, rejected
    runs = searches_per_request(logs)
    assert runs and max(runs.values()) == 1, runs.most_common(3)
    assert len(runs) == counts["replied"], (len(runs), counts)


# (g) ------------------------------------------------------------------------------------------

TWO_BROKER_ENQUIRIES = 300
CONCURRENCY = 8


async def test_two_broker_processes_on_one_postgres_give_the_same_counts_as_one(
    node_vhost: str, workspace: DevWorkspace, pg_url: str, logs: Path, tmp_path: Path
) -> None:
    """(g) Two `mash-broker serve` processes on one database and one vhost (two relays with
    SKIP LOCKED, two reply consumers, two sweepers): 300 enquiries alternating between them
    give 300 complete, 900 replies, 300 summaries all version 1, nothing rejected or left
    unpublished, and each request searched exactly once."""
    env = broker_env(workspace, database_url=pg_url, amqp_url=node_vhost)
    migrate(env)
    manager = bearer(workspace, "mash_manager")
    engine = own_engine(pg_url)
    observed: dict[str, Any] = {}
    try:
        with ExitStack() as stack:
            one = stack.enter_context(broker_process(env, tmp_path / "broker-a.log"))
            two = stack.enter_context(broker_process(env, tmp_path / "broker-b.log"))
            stack.enter_context(adapter_processes(workspace, node_vhost, logs))
            gate = asyncio.Semaphore(CONCURRENCY)
            async with httpx.AsyncClient(base_url=one.base_url, timeout=30, headers=manager) as a, \
                    httpx.AsyncClient(base_url=two.base_url, timeout=30, headers=manager) as b:
                clients = (a, b)

                async def post(i: int) -> tuple[int, int, str]:
                    async with gate:
                        r = await clients[i % 2].post("/enquiries", json=enquiry_body(i))
                    return i, r.status_code, r.json().get("enquiry_id", r.text) if r.status_code == 201 else r.text

                began = time.monotonic()
                results = await asyncio.wait_for(
                    asyncio.gather(*(post(i) for i in range(TWO_BROKER_ENQUIRIES))), timeout=240
                )
                observed["posted_s"] = round(time.monotonic() - began, 1)
            refused = [(i, s, body[:300]) for i, s, body in results if s != 201]
            assert not refused, refused[:5]
            ids = {body for _, _, body in results}
            rows = await wait_complete(engine, ids, timeout=240)
            observed["complete_s"] = round(time.monotonic() - began, 1)
            counts = await db_counts(engine)
            for name in ("broker-a", "broker-b"):
                log = tmp_path / f"{name}.log"
                observed[name] = {
                    "replies_recorded": log_events(log, "reply_recorded"),
                    "enquiries_opened": log_events(log, "enquiry_opened"),
                    "relay_cycle_failed": log_events(log, "relay_cycle_failed"),
                    "publish_failed": log_events(log, "publish_failed"),
                }
        print(f"\n(g) observed: {observed}; counts: {counts}")

        assert len(ids) == TWO_BROKER_ENQUIRIES
        assert not incomplete(rows, ids), incomplete(rows, ids)[:5]
        assert counts["enquiries"] == counts["complete"] == TWO_BROKER_ENQUIRIES, counts
        assert counts["replied"] == 3 * TWO_BROKER_ENQUIRIES and counts["pending"] == 0, counts
        assert counts["summaries"] == TWO_BROKER_ENQUIRIES and counts["later_versions"] == 0, counts
        assert counts["rejected"] == 0, await rejections(engine)
        assert counts["unpublished"] == 0, counts
        await assert_searched_once_per_replied_request(engine, logs)
        runs = searches_per_request(logs)
        assert len(runs) == 3 * TWO_BROKER_ENQUIRIES and set(runs.values()) == {1}, runs.most_common(3)
    finally:
        await engine.dispose()
