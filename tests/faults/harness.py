"""What the fault tests share: a broker in the test's event loop, adapter processes, and
effect counters read from the database and the adapters' own logs and stores."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from broker.adapters.db import tables as t
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker
from broker.config import Settings
from tests.e2e.processes import env_with, started

PARTNERS = ("education", "health", "police")


def fault_settings(workspace: DevWorkspace, *, database_url: str, amqp_url: str, **extra: Any) -> Settings:
    return Settings(
        dev_dir=workspace.root,
        database_url=database_url,
        amqp_url=amqp_url,
        relay_poll_s=0.1,
        sweep_interval_s=0.5,
        **extra,
    )


def adapter_env(workspace: DevWorkspace, amqp_url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    return env_with(
        MASH_DEV_DIR=str(workspace.root),
        MASH_AMQP_URL=amqp_url,
        MASH_ADAPTER_STATE_DIR=str(state_dir),
        **extra,
    )


@contextmanager
def adapter_processes(workspace: DevWorkspace, amqp_url: str, logs: Path,
                      partners: tuple[str, ...] = PARTNERS) -> Iterator[dict[str, Any]]:
    """The reference adapters as separate `mash-adapter run` processes."""
    env = adapter_env(workspace, amqp_url, logs / "state")
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(started(["mash-adapter", "run", name], env, logs / f"{name}.log"))
            for name in partners
        }


def searches_per_request(logs: Path) -> Counter[str]:
    """How many times each request's search ran, from the adapters' own log lines
    (`search_completed` is written once per search the partner's function ran)."""
    runs: Counter[str] = Counter()
    for log in logs.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if event.get("event") == "search_completed":
                runs[event["request_id"]] += 1
    return runs


def answered_in_store(state_dir: Path) -> int:
    total = 0
    for path in state_dir.glob("*.answered.sqlite3"):
        with sqlite3.connect(path) as db:
            total += db.execute("SELECT count(*) FROM answered").fetchone()[0]
    return total


async def effect_counts(broker: Broker) -> dict[str, int]:
    """Rows, not deliveries: the effects the database holds."""
    async with broker.engine.connect() as c:
        async def one(query: Any) -> int:
            return int((await c.execute(query)).scalar_one())

        pr, s = t.partner_requests, t.summaries
        return {
            "enquiries": await one(select(func.count()).select_from(t.enquiries)),
            "complete": await one(select(func.count()).select_from(t.enquiries).where(t.enquiries.c.state == "complete")),
            "replied": await one(select(func.count()).select_from(pr).where(pr.c.status == "replied")),
            "pending": await one(select(func.count()).select_from(pr).where(pr.c.status == "pending")),
            "summaries": await one(select(func.count()).select_from(s)),
            "later_versions": await one(select(func.count()).select_from(s).where(s.c.version > 1)),
            "rejected": await one(select(func.count()).select_from(t.rejected_messages)),
            "unpublished": await one(
                select(func.count()).select_from(t.outbox).where(t.outbox.c.published_at.is_(None))
            ),
        }


async def wait_for_counts(broker: Broker, expected: dict[str, int], *, timeout: float) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    stop = loop.time() + timeout
    counts = await effect_counts(broker)
    while loop.time() < stop and any(counts[k] != v for k, v in expected.items()):
        await asyncio.sleep(0.5)
        counts = await effect_counts(broker)
    return counts


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
