"""Store many enquiries fast, through the broker's own use cases, in-process (no HTTP, no AMQP).

    python -m bench.bulk --database-url URL --dev-dir DIR --count 100000 [--workers 2]

Each enquiry is opened by `open_enquiry` (consent and agreement gates, the three signed
partner requests, the outbox rows: one transaction) on a clock set three days back with a
red BRAG (4 h deadline); it is then closed at its deadline as `partial` (every partner
`no_reply`) with a signed summary by the same steps as the deadline sweeper (`expire`,
`save`, `issue_summary`, one transaction each), and the outbox relay runs over the rows,
which are all past their deadline, so nothing is published. What is left is what a broker
that has handled `count` enquiries holds: enquiries, partner requests, gate decisions,
outbox rows and summaries, all closed.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import multiprocessing as mp
import sys
import time
from pathlib import Path

from adapters.sdk.transport.base import OutgoingMessage
from broker.adapters.clock import SystemClock
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.domain.access import MASH_MANAGER, Principal
from broker.entrypoints.api.routes import _command
from broker.entrypoints.api.schemas import EnquiryCreate
from broker.entrypoints.demo import scenario_enquiry
from broker.service.summaries import issue_summary

BULK_MANAGER = Principal(subject="bench.bulk", roles=frozenset({MASH_MANAGER}))
SCENARIOS = ["no_trace", "all_sources_high_risk", "police_only"]


class PastClock:
    """Three days ago, one millisecond further at every reading (distinct opened_at)."""

    def __init__(self, worker: int) -> None:
        self._base = dt.datetime.now(dt.UTC) - dt.timedelta(days=3) + dt.timedelta(hours=worker)
        self._ticks = itertools.count()

    def now(self) -> dt.datetime:
        return self._base + dt.timedelta(milliseconds=next(self._ticks))


class _NeverPublish:
    """The relay only reaches the transport for a row still within its deadline: none here."""

    async def publish(self, message: OutgoingMessage) -> None:
        raise AssertionError(f"bulk rows are past their deadline; {message.message_id} would be sent")


def _settings(database_url: str, dev_dir: Path) -> Settings:
    return Settings(database_url=database_url, dev_dir=dev_dir)


async def _open_and_close(database_url: str, dev_dir: Path, count: int, worker: int,
                          concurrency: int) -> None:
    broker: Broker = build_broker(_settings(database_url, dev_dir), clock=PastClock(worker))
    bodies = [EnquiryCreate.model_validate(scenario_enquiry(s, brag="red")) for s in SCENARIOS]
    now = SystemClock()
    remaining = iter(range(count))

    async def one() -> None:
        for i in remaining:
            opened = await broker.open_enquiry(_command(bodies[i % len(bodies)], broker, None, BULK_MANAGER))
            async with broker.uow() as uow:  # as close_overdue does, for this enquiry
                enquiry = await uow.enquiries.get(opened.enquiry_id, for_update=True)
                assert enquiry is not None and enquiry.expire(now.now())
                await uow.enquiries.save(enquiry)
                await issue_summary(enquiry, uow=uow, signer=broker.signer, clock=now, new_id=broker.new_id)
                await uow.commit()

    try:
        await asyncio.gather(*(one() for _ in range(concurrency)))
    finally:
        await broker.engine.dispose()


async def _drain_outbox(database_url: str, dev_dir: Path) -> tuple[int, int]:
    """Retire the outbox rows, and give the audit entries waiting in the inbox their place in
    the log, as a running broker's relay and sequencer would have by now (not in the timing)."""
    from broker.adapters.messaging.relay import OutboxRelay

    broker = build_broker(_settings(database_url, dev_dir))
    relay = OutboxRelay(uow_factory=broker.uow, transport=_NeverPublish(),  # type: ignore[arg-type]
                        clock=SystemClock(), batch=2000)
    done = 0
    try:
        while n := await relay.run_once():
            done += n
        sequenced = await broker.sequence_audit()
    finally:
        await broker.engine.dispose()
    return done, sequenced


def _quiet() -> None:
    """No per-row log lines (the relay warns once per expired row: 3 per enquiry)."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def _worker(database_url: str, dev_dir: str, count: int, worker: int, concurrency: int) -> None:
    _quiet()
    asyncio.run(_open_and_close(database_url, Path(dev_dir), count, worker, concurrency))


def store(database_url: str, dev_dir: Path, count: int, *, workers: int = 2, concurrency: int = 8) -> dict[str, float]:
    """Add `count` closed enquiries; returns how long it took."""
    started = time.monotonic()
    if database_url.startswith("sqlite"):
        workers = 1  # one writer
    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    if workers == 1:
        _worker(database_url, str(dev_dir), count, 0, concurrency)
    else:
        ctx = mp.get_context("spawn")
        processes = [ctx.Process(target=_worker, args=(database_url, str(dev_dir), n, i, concurrency), daemon=True)
                     for i, n in enumerate(shares) if n]
        for p in processes:
            p.start()
        for p in processes:
            p.join()
            if p.exitcode != 0:
                raise RuntimeError(f"bulk worker exited with {p.exitcode}")
    opened_s = time.monotonic() - started
    _quiet()
    drained, sequenced = asyncio.run(_drain_outbox(database_url, dev_dir))
    return {"count": count, "seconds": round(time.monotonic() - started, 1),
            "open_and_close_s": round(opened_s, 1), "outbox_rows_retired": drained,
            "audit_entries_sequenced": sequenced}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bulk", description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--dev-dir", required=True, type=Path)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    print(store(args.database_url, args.dev_dir, args.count, workers=args.workers), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
