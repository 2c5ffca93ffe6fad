"""What one enquiry costs the database and the CPU, counted in-process.

    python -m bench.roundtrips [--enquiries 30] [--database postgresql|sqlite]

Runs the broker in one process, as the embedded default does (its FastAPI app through httpx's
ASGI transport, the in-process transport, the three reference adapters), one enquiry at a
time, and counts with SQLAlchemy's engine and pool events, per enquiry and by phase:

* `statements`: SQL statements executed (an executemany counts once);
* `transactions`: transactions begun (explicit, or implicit on a connection's first statement);
* `checkouts`: connections taken from the pool (one idle for 0.5 s or more is pinged first:
  broker/adapters/db/engine.py).

and `cpu_ms`: this process's CPU time per enquiry (the broker's work, the three adapters'
work, which the variants do not change, and the HTTP client's).

The JSON object on the last line has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextvars
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.harness import database
from bench.load import REFERENCE_SCENARIOS, auth_headers
from bench.stack import BENCH_SETTINGS
from broker.adapters.db.migrate import upgrade
from broker.adapters.dev_workspace import init_workspace
from broker.config import Settings
from broker.entrypoints.demo import scenario_enquiry

PHASE: contextvars.ContextVar[str] = contextvars.ContextVar("phase", default="other")


class Counter:
    """Statements, transactions and pool checkouts, by the phase that caused them."""

    def __init__(self) -> None:
        self.counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

    def attach(self, engine: Any) -> None:
        sync = engine.sync_engine

        @event.listens_for(sync, "before_cursor_execute")
        def _statement(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
            self.counts[PHASE.get()]["statements"] += 1

        @event.listens_for(sync, "begin")
        def _begin(conn: Any) -> None:
            self.counts[PHASE.get()]["transactions"] += 1

        @event.listens_for(sync.pool, "checkout")
        def _checkout(*_: Any) -> None:
            self.counts[PHASE.get()]["checkouts"] += 1


def in_phase(name: str, function: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = PHASE.set(name)
        try:
            return await function(*args, **kwargs)
        finally:
            PHASE.reset(token)

    return wrapped


# -- one measurement ------------------------------------------------------------------------


async def measure(db_url: str, workdir: Path, n: int) -> dict[str, Any]:
    from broker.bootstrap import build_broker
    from broker.entrypoints.api.app import create_app

    workspace = init_workspace(workdir / "dev")
    upgrade(db_url)
    settings = Settings(
        database_url=db_url, dev_dir=workspace.root,
        **{k.removeprefix("MASH_").lower(): v for k, v in BENCH_SETTINGS.items()},
    )
    broker = build_broker(settings)
    counter = Counter()
    counter.attach(broker.engine)
    summaries: dict[str, asyncio.Event] = collections.defaultdict(asyncio.Event)
    record_reply = broker.record_reply

    async def recorded(message: Any) -> Any:
        result = await record_reply(message)
        if result.summary_version is not None and result.enquiry_id:
            summaries[result.enquiry_id].set()
        return result

    # Tag the work by who does it (instance attributes shadow the methods; the broker binds
    # record_reply when it starts, the relay's loop calls self.run_once).
    broker.record_reply = in_phase("record_reply (3 replies + summary)", recorded)  # type: ignore[method-assign]
    broker.open_enquiry = in_phase("POST /enquiries: open_enquiry", broker.open_enquiry)  # type: ignore[method-assign]
    broker._sweep_forever = in_phase("sweeper", broker._sweep_forever)  # type: ignore[method-assign]
    await broker.start()
    assert broker.relay is not None
    broker.relay.run_once = in_phase("outbox relay", broker.relay.run_once)  # type: ignore[method-assign]
    names = list(REFERENCE_SCENARIOS)
    cpu = wall = 0.0
    try:
        app = create_app(broker=broker)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                     headers=auth_headers(workspace.root)) as http:
            for i in range(n + 3):  # the first three warm caches and are not counted
                if i == 3:
                    counter.counts.clear()
                    cpu, wall = time.process_time(), time.perf_counter()
                body = scenario_enquiry(names[i % len(names)], household=True)
                created = await in_phase("POST /enquiries: the rest (read-back)", http.post)("/enquiries", json=body)
                assert created.status_code == 201, created.text
                enquiry_id = created.json()["enquiry_id"]
                await asyncio.wait_for(summaries[enquiry_id].wait(), timeout=60)
                got = await in_phase("GET /enquiries/{id}", http.get)(f"/enquiries/{enquiry_id}")
                assert got.status_code == 200
                summary = await in_phase("GET /enquiries/{id}/summary", http.get)(
                    f"/enquiries/{enquiry_id}/summary", headers={"Accept": "application/jose"})
                assert summary.status_code == 200
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await broker.stop()
    counts = dict(counter.counts)
    per_enquiry: dict[str, Any] = {
        phase: {k: round(v / n, 1) for k, v in sorted(c.items())} for phase, c in sorted(counts.items())
    }
    total: collections.Counter[str] = collections.Counter()
    for phase, c in counts.items():
        if phase != "sweeper":
            total += c
    per_enquiry["total (without the sweeper)"] = {k: round(v / n, 1) for k, v in sorted(total.items())}
    return {"per_enquiry": per_enquiry, "cpu_ms_per_enquiry": round(1000 * cpu / n, 2),
            "wall_ms_per_enquiry": round(1000 * wall / n, 2)}


def run(database_kind: str, n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mash-bench-rt-") as tmp, database(database_kind, Path(tmp)) as url:
        return asyncio.run(measure(url, Path(tmp), n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.roundtrips", description=__doc__.splitlines()[0])
    ap.add_argument("--enquiries", type=int, default=30)
    ap.add_argument("--database", default="postgresql", choices=["postgresql", "sqlite"])
    ap.add_argument("--quiet", action="store_true", help="no broker log lines")
    args = ap.parse_args(argv)
    if args.quiet:
        import logging

        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = run(args.database, args.enquiries)
    print(f"cpu {result['cpu_ms_per_enquiry']} ms/enquiry, wall {result['wall_ms_per_enquiry']} ms/enquiry")
    for phase, counts in result["per_enquiry"].items():
        print(f"  {phase:52} {counts}")
    print(json.dumps({"database": args.database, "enquiries": args.enquiries, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
