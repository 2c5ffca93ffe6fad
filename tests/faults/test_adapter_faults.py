"""Partner adapters failing in the middle of their work, on a throw-away RabbitMQ node:
(c) an adapter process SIGKILLed before and after its effect, (e) a poison request.

Counted as effects (rows in the broker's database, entries in the adapters' dedupe store,
`search_completed` lines per request id), not deliveries."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import sqlite3
import subprocess
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.sdk.signing import key_set, verify
from broker.adapters.db import tables as t
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.domain.enquiry import EnquiryState, RequestStatus
from broker.entrypoints.demo import scenario_enquiry
from broker.service.summaries import SUMMARY_JWS_TYP
from tests.e2e.processes import started
from tests.faults.failpoint_adapter import POISON_ENV
from tests.faults.harness import (
    PARTNERS,
    adapter_env,
    answered_in_store,
    effect_counts,
    fault_settings,
    searches_per_request,
    wait_for_counts,
)
from tests.faults.throwaway import RabbitNode
from tests.integration.helpers import eventually, open_scenario

pytestmark = [pytest.mark.faults]

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = ("all_sources_high_risk", "no_trace", "police_only", "health_only", "education_only")


def events(log: Path, event: str) -> list[dict[str, Any]]:
    """The JSON log lines of one event in one process's log."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            if data.get("event") == event:
                found.append(data)
    return found


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(errors="replace")[-chars:]


def stored_replies(state_dir: Path, partner: str) -> dict[str, bytes]:
    """request id -> reply body, from one adapter's dedupe store."""
    with sqlite3.connect(state_dir / f"{partner}.answered.sqlite3") as db:
        return {row[0]: bytes(row[1]) for row in db.execute("SELECT request_id, reply_body FROM answered")}


async def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    loop = asyncio.get_running_loop()
    stop = loop.time() + timeout
    while process.poll() is None and loop.time() < stop:
        await asyncio.sleep(0.2)
    return process.returncode


async def request_rows(broker: Broker, enquiry_ids: list[str]) -> list[dict[str, Any]]:
    pr = t.partner_requests
    async with broker.engine.connect() as c:
        rows = await c.execute(
            select(pr.c.enquiry_id, pr.c.partner_id, pr.c.request_id, pr.c.status, pr.c.reason,
                   pr.c.reply_jws).where(pr.c.enquiry_id.in_(enquiry_ids))
        )
        # Replies are sealed at rest: open them as the broker does.
        return [
            dict(row) | {"reply_jws": broker.cipher.open_text(
                row["reply_jws"], context=f"partner_requests.reply_jws:{row['request_id']}")}
            for row in rows.mappings()
        ]


async def queues_drained(node: RabbitNode, amqp_url: str, *, timeout: float = 30) -> None:
    """Every queue of the vhost empty, nothing unacknowledged: all replies and dead letters
    the broker will ever see have been handled (so the counts that follow are final)."""
    vhost = amqp_url.rsplit("/", 1)[1]
    loop = asyncio.get_running_loop()
    stop = loop.time() + timeout
    while True:
        listing = await asyncio.to_thread(
            node.ctl, "list_queues", "-p", vhost, "--no-table-headers",
            "name", "messages_ready", "messages_unacknowledged",
        )
        busy = [line for line in listing.splitlines() if line.strip() and line.split()[1:] != ["0", "0"]]
        if not busy:
            return
        assert loop.time() < stop, f"queues not drained within {timeout} s: {busy}"
        await asyncio.sleep(0.5)


def summary_payload(broker: Broker, jws: str) -> dict[str, Any]:
    return verify(jws, key_set(broker.signer.jwks()["keys"]), typ=SUMMARY_JWS_TYP)


# --- (c) an adapter killed before and after its effect ------------------------------------


@pytest.mark.timeout(300)
@pytest.mark.parametrize("failpoint", ["before_effect", "after_publish"])
async def test_adapter_killed_before_and_after_its_work_produces_one_effect(
    failpoint: str, node: RabbitNode, node_vhost: str, workspace: DevWorkspace, pg_url: str, logs: Path
) -> None:
    """The police adapter is SIGKILLed on its first request, either inside the search
    (`before_effect`: nothing stored, published or acknowledged) or right after its reply's
    publish was confirmed (`after_publish`: stored and published, never acknowledged). A
    normal adapter on the same dedupe store takes over. Every enquiry completes with exactly
    one reply per partner; before the effect the request is searched again (the first search
    never finished), after it the stored reply is replayed and the search ran once in all."""
    state = logs / "state"
    env = adapter_env(workspace, node_vhost, state, PYTHONPATH=str(REPO))
    failpoint_log, restarted_log = logs / "police-failpoint.log", logs / "police-restarted.log"
    broker = build_broker(fault_settings(workspace, database_url=pg_url, amqp_url=node_vhost))
    await broker.start()
    try:
        with ExitStack() as stack:
            for name in ("education", "health"):
                stack.enter_context(started(["mash-adapter", "run", name], env, logs / f"{name}.log"))
            dying = stack.enter_context(started(
                ["python", "-m", "tests.faults.failpoint_adapter", "police", failpoint], env, failpoint_log
            ))
            opened = [await open_scenario(broker, scenario) for scenario in SCENARIOS]
            enquiry_ids = [o.enquiry_id for o in opened]
            code = await wait_exit(dying, timeout=60)
            assert code == -signal.SIGKILL, (code, tail(failpoint_log))
            fired = events(failpoint_log, "failpoint_fired")
            assert len(fired) == 1 and fired[0]["failpoint"] == failpoint, fired
            killed = fired[0]["request_id"]

            stack.enter_context(started(["mash-adapter", "run", "police"], env, restarted_log))
            await wait_for_counts(broker, {"complete": len(opened), "replied": 3 * len(opened)}, timeout=120)

            # The killed request was never acknowledged, so it comes back to the new process
            # (after `after_publish` the broker may be complete before it does).
            async def killed_answered_again() -> bool:
                return killed in {e["request_id"] for e in events(restarted_log, "request_answered")}

            await eventually(killed_answered_again, timeout=45, every=0.5)
            await queues_drained(node, node_vhost)
            counts = await effect_counts(broker)

        # The broker's effects: one replied row per (enquiry, asked partner), one summary each.
        n = len(opened)
        assert counts["enquiries"] == n and counts["complete"] == n, counts
        assert counts["replied"] == 3 * n and counts["pending"] == 0, counts
        assert counts["unpublished"] == 0, counts
        assert counts["summaries"] == n and counts["later_versions"] == 0, counts
        assert counts["rejected"] == 0, counts
        rows = await request_rows(broker, enquiry_ids)
        replied = [(r["enquiry_id"], r["partner_id"]) for r in rows if r["status"] == "replied"]
        assert sorted(replied) == sorted(itertools.product(enquiry_ids, PARTNERS)), replied
        killed_row = next(r for r in rows if r["request_id"] == killed)
        assert killed_row["partner_id"] == "police" and killed_row["status"] == "replied"

        # The adapters' effects: one dedupe entry per request; the reply the broker recorded
        # for the killed request is the one in the store.
        assert answered_in_store(state) == 3 * n
        police_store = stored_replies(state, "police")
        assert len(police_store) == n
        assert json.loads(police_store[killed])["jws"] == killed_row["reply_jws"]

        # Searches: every request's search completed exactly once, over both police processes.
        runs = searches_per_request(logs)
        assert len(runs) == 3 * n and set(runs.values()) == {1}, runs.most_common(3)
        searched_before = {e["request_id"] for e in events(failpoint_log, "search_completed")}
        searched_after = {e["request_id"] for e in events(restarted_log, "search_completed")}
        replayed = {e["request_id"] for e in events(restarted_log, "request_answered") if e["replay"]}
        assert killed not in {e["request_id"] for e in events(failpoint_log, "request_answered")}
        if failpoint == "before_effect":
            # The first search never finished: the request came back and was searched again.
            assert killed not in searched_before and killed in searched_after, (searched_before, searched_after)
            assert killed not in replayed
        else:
            # Stored and published before the kill: redelivered, answered from the dedupe
            # store (replay), the search not run again; the broker recorded it once.
            assert killed in searched_before and killed not in searched_after
            assert killed in replayed, tail(restarted_log)
    finally:
        await broker.stop()


# --- (e) a poison request -------------------------------------------------------------------

DELIVERY_LIMIT = 3
GOOD = 100
POISON_FAMILY = "Poisonfault"  # in no record of the synthetic cohort


@pytest.mark.timeout(300)
async def test_poison_request_is_dead_lettered_and_good_ones_keep_flowing(
    node: RabbitNode, node_vhost: str, workspace: DevWorkspace, pg_url: str, logs: Path
) -> None:
    """A police search that raises for one subject: that request is redelivered up to the
    delivery limit, dead-lettered, and recorded as undeliverable (dead-lettered, delivery_limit);
    its enquiry closes as partial with the other partners' replies and a signed summary naming
    police undeliverable. The 100 good enquiries opened behind it all complete, each searched once."""
    state = logs / "state"
    env = adapter_env(workspace, node_vhost, state, PYTHONPATH=str(REPO))
    police_env = {**env, "MASH_ADAPTER_PARTNER_ID": "police", POISON_ENV: POISON_FAMILY}
    police_log = logs / "police.log"
    settings = fault_settings(
        workspace, database_url=pg_url, amqp_url=node_vhost, amqp={"delivery_limit": DELIVERY_LIMIT}
    )
    broker = build_broker(settings)
    assert broker.topology.delivery_limit == DELIVERY_LIMIT
    await broker.start()
    try:
        with ExitStack() as stack:
            stack.enter_context(started(
                ["mash-adapter", "run", "tests.faults.failpoint_adapter:poison_police"], police_env, police_log
            ))
            subjects = scenario_enquiry("no_trace")["subjects"]
            child = next(s for s in subjects if s["role"] == "child")
            child["family_name"] = POISON_FAMILY
            poison = await open_scenario(broker, "no_trace", subjects=subjects)
            scenarios = itertools.cycle(SCENARIOS)
            good = [(await open_scenario(broker, next(scenarios))).enquiry_id for _ in range(GOOD)]

            before = await broker.views.enquiry(poison.enquiry_id)
            assert before is not None
            poison_request = next(r.request_id for r in before.requests if r.partner_id == "police")

            # Police alone first: the poison request is dead-lettered while the good ones flow,
            # and health and education are still to answer (the undeliverable comes first).
            async def police_settled() -> bool:
                rows = await request_rows(broker, [poison.enquiry_id, *good])
                police = [r for r in rows if r["partner_id"] == "police"]
                return sum(r["status"] == "replied" for r in police) == GOOD and any(
                    r["request_id"] == poison_request and r["status"] == "undeliverable" for r in police
                )

            await eventually(police_settled, timeout=100, every=0.5)
            midway = await broker.views.enquiry(poison.enquiry_id)
            assert midway is not None and midway.state is EnquiryState.DISPATCHED, midway

            for name in ("education", "health"):
                stack.enter_context(started(["mash-adapter", "run", name], env, logs / f"{name}.log"))
            await wait_for_counts(broker, {"complete": GOOD, "replied": 3 * GOOD + 2, "summaries": GOOD + 1},
                                  timeout=100)
            await queues_drained(node, node_vhost)
            counts = await effect_counts(broker)

        assert counts["enquiries"] == GOOD + 1 and counts["complete"] == GOOD, counts
        assert counts["replied"] == 3 * GOOD + 2 and counts["pending"] == 0, counts
        assert counts["summaries"] == GOOD + 1 and counts["later_versions"] == 0, counts
        assert counts["rejected"] == 0 and counts["unpublished"] == 0, counts

        # The poison enquiry, as GET /enquiries/{id} reads it (broker.views): partial, police
        # undeliverable with the dead-letter reason, the others replied, one summary.
        enquiry = await broker.views.enquiry(poison.enquiry_id)
        assert enquiry is not None
        assert enquiry.state is EnquiryState.PARTIAL and enquiry.completion == "undeliverable", (
            enquiry.state, enquiry.completion)
        statuses = {r.partner_id: r.status for r in enquiry.requests if r.partner_id in PARTNERS}
        assert statuses == {"education": RequestStatus.REPLIED, "health": RequestStatus.REPLIED,
                            "police": RequestStatus.UNDELIVERABLE}, statuses
        police = enquiry.request(poison_request)
        assert police.reason and "dead-lettered" in police.reason and "delivery_limit" in police.reason, police.reason
        assert "partner.police.requests" in police.reason, police.reason

        # The signed summary names police undeliverable and carries the others' replies.
        history = await broker.views.summaries(poison.enquiry_id)
        assert [s.version for s in history] == [1]
        payload = summary_payload(broker, history[0].jws)
        outcomes = {p["partner_id"]: p for p in payload["partners"]}
        assert payload["state"] == "partial" and payload["completion"] == "undeliverable"
        assert outcomes["police"]["outcome"] == "undeliverable"
        assert outcomes["police"]["reason"] == police.reason
        for partner in ("education", "health"):
            assert outcomes[partner]["outcome"] not in ("undeliverable", "pending", "no_reply")
            assert outcomes[partner]["signed_reply"]

        # The good enquiries: all complete, 300 replies.
        rows = await request_rows(broker, good)
        replied = [(r["enquiry_id"], r["partner_id"]) for r in rows if r["status"] == "replied"]
        assert sorted(replied) == sorted(itertools.product(good, PARTNERS))

        # Searches: the poison one ran delivery_limit + 1 times (and never completed),
        # every good one once.
        started_runs = [e["request_id"] for e in events(police_log, "failpoint_search_started")]
        raised = [e["request_id"] for e in events(police_log, "poison_search_raised")]
        failed = [e for e in events(police_log, "handler_failed") if e.get("correlation_id") == poison_request]
        assert raised == [poison_request] * (DELIVERY_LIMIT + 1), raised
        assert len(failed) == DELIVERY_LIMIT + 1, len(failed)
        assert started_runs.count(poison_request) == DELIVERY_LIMIT + 1
        good_police = {r["request_id"] for r in rows if r["partner_id"] == "police"}
        assert len(good_police) == GOOD
        assert all(started_runs.count(request_id) == 1 for request_id in good_police)
        assert len(started_runs) == GOOD + DELIVERY_LIMIT + 1, len(started_runs)
        runs = searches_per_request(logs)
        assert poison_request not in runs
        assert len(runs) == 3 * GOOD + 2 and set(runs.values()) == {1}, runs.most_common(3)
        assert poison_request not in stored_replies(state, "police")
        assert answered_in_store(state) == 3 * GOOD + 2
    finally:
        await broker.stop()
