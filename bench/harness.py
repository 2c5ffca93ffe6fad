"""`make bench`: the broker beside the AMQP floor, in one run on this machine.

1. the floor (`../shared/bench/amqp_floor.py`): bare aio-pika scatter-gather to 3 partner
   processes, for throughput (concurrency 64) and latency (concurrency 1);
2. the broker on PostgreSQL: `mash-broker serve` (API, outbox relay, reply consumer) and the
   three reference adapters as separate `mash-adapter run` processes, over RabbitMQ;
3. the same on SQLite (with RabbitMQ);
4. the floor again (the machine is shared: the two floor runs show how much it moved).

Every summary produced is fetched and verified (see bench.load) before a figure counts.
Progress goes to stderr; the LAST line of stdout is one JSON object with the results.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from broker.adapters.dev_workspace import init_workspace
from bench.load import Workload, auth_headers, latency, throughput
from bench.stack import (
    REPO,
    Stack,
    env_with,
    load_average,
    log,
    machine,
    pg_database,
    run_floor,
    stop_cleanly_on_sigterm,
    vhost,
)

REFERENCE_ADAPTERS = {"police": "police", "health": "health", "education": "education"}

# Targets from the issue (reported against, never asserted).
TARGETS = {
    "throughput_ratio": 0.75,  # broker / floor, PostgreSQL, at least
    "sqlite_throughput_ratio": 0.6,  # broker / floor, SQLite, at least
    "latency_ratio": 2.0,  # broker p50 / floor p50 at concurrency 1, at most
    "kb_per_open_enquiry": 20.0,  # at most
}


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "postgresql":
        with pg_database() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{workdir / 'mash.sqlite3'}"


def broker_run(
    kind: str, workdir: Path, *, enquiries: int, latency_enquiries: int, concurrency: int,
    warmup: int = 20,
) -> dict[str, Any]:
    """One broker stack on `kind` (postgresql | sqlite) with the reference adapters."""
    workdir.mkdir(parents=True, exist_ok=True)
    workspace = init_workspace(workdir / "dev")
    workload = Workload.reference()
    with vhost(kind[:2]) as amqp_url, database(kind, workdir) as db_url:
        env = env_with(
            MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=db_url, MASH_AMQP_URL=amqp_url
        )
        with Stack(workdir, env) as stack:
            stack.migrate()
            stack.start_broker()
            stack.start_adapters(REFERENCE_ADAPTERS)
            headers = auth_headers(workspace.root)
            log(f"{kind}: throughput, {enquiries} enquiries at concurrency {concurrency}")
            tp = asyncio.run(throughput(stack.base_url, workload, workspace.agreements_dir,
                                        n=enquiries, concurrency=concurrency, headers=headers,
                                        warmup=warmup, cpu=stack.cpu_snapshot))
            log(f"{kind}: {tp['enquiries_per_s']} enquiries/s, {tp['summaries_verified']} verified")
            log(f"{kind}: latency, {latency_enquiries} enquiries at concurrency 1")
            lat = asyncio.run(latency(stack.base_url, workload, workspace.agreements_dir,
                                      n=latency_enquiries, headers=headers,
                                      warmup=min(warmup, 5), summaries_logged=stack.summary_watcher().poll))
            log(f"{kind}: p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms")
            memory = stack.broker_memory()
    return {"throughput": tp, "latency": lat, "memory": memory}


def floor_run(amqp_url: str, *, partners: int, enquiries: int, latency_enquiries: int,
              concurrency: int) -> dict[str, Any]:
    log(f"floor: {partners} partners, {enquiries} enquiries at concurrency {concurrency}")
    tp = run_floor(amqp_url, partners=partners, enquiries=enquiries, concurrency=concurrency)
    lat = run_floor(amqp_url, partners=partners, enquiries=latency_enquiries, concurrency=1)
    log(f"floor: {tp['enquiries_per_s']} enquiries/s; p50 {lat['p50_ms']} ms")
    return {"throughput": tp, "latency": lat}


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    workroot = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="mash-bench-"))
    workroot.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"machine": machine(), "load_average_start": load_average()}
    floors = []
    runs: dict[str, dict[str, Any]] = {}
    try:
        with vhost("floor") as floor_url:
            floor = dict(enquiries=args.enquiries, latency_enquiries=args.latency_enquiries,
                         concurrency=args.concurrency, partners=3)
            floors.append(floor_run(floor_url, **floor))
            for kind in args.databases:
                runs[kind] = broker_run(
                    kind, workroot / kind, enquiries=args.enquiries,
                    latency_enquiries=args.latency_enquiries, concurrency=args.concurrency,
                    warmup=args.warmup,
                )
            if not args.single_floor:
                floors.append(floor_run(floor_url, **floor))
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workroot, ignore_errors=True)
        else:
            log(f"logs and workspaces kept in {workroot}")

    floor_tp = statistics.mean(f["throughput"]["enquiries_per_s"] for f in floors)
    floor_p50 = statistics.mean(f["latency"]["p50_ms"] for f in floors)
    floor_p99 = statistics.mean(f["latency"]["p99_ms"] for f in floors)
    pg = runs.get("postgresql")
    lite = runs.get("sqlite")
    verified = all(r["throughput"]["verified"] and r["latency"]["verified"] for r in runs.values())
    summary: dict[str, Any] = {
        "enquiries": args.enquiries,
        "latency_enquiries": args.latency_enquiries,
        "concurrency": args.concurrency,
        "partners": 3,
        "floor_enquiries_per_s": round(floor_tp, 1),
        "floor_p50_ms": round(floor_p50, 2),
        "floor_p99_ms": round(floor_p99, 2),
    }
    if pg:
        summary.update(
            broker_enquiries_per_s=pg["throughput"]["enquiries_per_s"],
            throughput_ratio=ratio(pg["throughput"]["enquiries_per_s"], floor_tp),
            p50_ms=pg["latency"]["p50_ms"],
            p99_ms=pg["latency"]["p99_ms"],
            latency_ratio=ratio(pg["latency"]["p50_ms"], floor_p50),
            client_p50_ms=pg["latency"]["client_p50_ms"],
            peak_rss_mb=pg["memory"]["peak_rss_mb"],
            broker_cpu_ms_per_enquiry=pg["throughput"].get("broker_cpu_ms_per_enquiry"),
            adapters_cpu_ms_per_enquiry=pg["throughput"].get("adapters_cpu_ms_per_enquiry"),
        )
    if lite:
        summary.update(
            sqlite_enquiries_per_s=lite["throughput"]["enquiries_per_s"],
            sqlite_throughput_ratio=ratio(lite["throughput"]["enquiries_per_s"], floor_tp),
            sqlite_p50_ms=lite["latency"]["p50_ms"],
            sqlite_p99_ms=lite["latency"]["p99_ms"],
            sqlite_latency_ratio=ratio(lite["latency"]["p50_ms"], floor_p50),
            sqlite_peak_rss_mb=lite["memory"]["peak_rss_mb"],
            sqlite_broker_cpu_ms_per_enquiry=lite["throughput"].get("broker_cpu_ms_per_enquiry"),
        )
    summary["summaries_verified"] = sum(
        r["throughput"]["summaries_verified"] + r["latency"]["summaries_verified"] for r in runs.values()
    )
    summary["summaries_expected"] = len(runs) * (args.enquiries + args.latency_enquiries)
    summary["verified"] = verified and summary["summaries_verified"] == summary["summaries_expected"]
    summary["targets"] = {
        "throughput_ratio>=0.75": summary.get("throughput_ratio", 0) >= TARGETS["throughput_ratio"],
        "sqlite_throughput_ratio>=0.6": summary.get("sqlite_throughput_ratio", 0) >= TARGETS["sqlite_throughput_ratio"],
        "latency_ratio<=2": 0 < summary.get("latency_ratio", 0) <= TARGETS["latency_ratio"],
    }
    result["load_average_end"] = load_average()
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    result["floor_runs"] = floors
    result["broker_runs"] = runs
    summary["elapsed_s"] = result["elapsed_s"]
    summary["detail"] = result
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--enquiries", type=int, default=1000, help="throughput run size (default 1000)")
    ap.add_argument("--latency-enquiries", type=int, default=200,
                    help="latency samples at concurrency 1 (default 200)")
    ap.add_argument("--concurrency", type=int, default=64, help="POSTs in flight (default 64)")
    ap.add_argument("--warmup", type=int, default=20,
                    help="enquiries run to completion before timing (default 20, as the floor)")
    ap.add_argument("--databases", default="postgresql,sqlite",
                    type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                    help="comma-separated: postgresql,sqlite")
    ap.add_argument("--single-floor", action="store_true", help="run the floor once, not before and after")
    ap.add_argument("--workdir", help="keep logs and workspaces here (default: a temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--out", help="also write the full result as JSON to this file")
    ap.add_argument("--series", action="store_true",
                    help="run the scaling series instead (python -m bench.series; see --help there)")
    args = ap.parse_args(argv)
    for kind in args.databases:
        if kind not in ("postgresql", "sqlite"):
            ap.error(f"unknown database {kind!r}")
    if args.enquiries < 2 or args.latency_enquiries < 2:
        ap.error("--enquiries and --latency-enquiries need at least 2 (percentiles)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.series:
        from bench.series import main as series_main

        return series_main([])
    stop_cleanly_on_sigterm()
    log(f"repo {REPO}; python {sys.version.split()[0]}")
    summary = run(args)
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    # The whole result first (readable), then the one line a machine reads: the last line.
    print(json.dumps(summary["detail"], indent=2))
    line = {k: v for k, v in summary.items() if k != "detail"}
    print(json.dumps(line))
    return 0 if summary["verified"] else 1
