"""The scaling series: partners, enquiries held open, enquiries stored.

    python -m bench.series [--sections partners,open,stored] [--out var/bench/series.json]

partners  3, 10 and 30 synthetic partners (bench.partner: each answers no trace, through the
          full SDK), one `mash-adapter run` process each, one agreement naming them all; the
          floor with the same number of partner processes beside each figure. Throughput at
          concurrency 64, latency at concurrency 1, CPU per enquiry of the broker.
open      1,000 and 10,000 enquiries held open in flight (amber: 24 h deadline; no adapter
          running, so every request waits in its RabbitMQ queue): the broker's resident memory
          per open enquiry, against a baseline taken after a warm-up.
stored    100 and then 100,000 stored (closed) enquiries: GET /enquiries/{id}, POST /enquiries
          and GET /enquiries?state=... at concurrency 1, and the PostgreSQL plans of the
          broker's queries at that size.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.agreements import SYNTHETIC_ADAPTER, partner_ids, synthetic_workspace
from bench.harness import REFERENCE_ADAPTERS, database, ratio
from bench.load import Workload, auth_headers, client, latency, open_many, quantile, throughput
from bench.stack import (
    REPO,
    Stack,
    env_with,
    load_average,
    log,
    machine,
    rabbitmqctl,
    run_floor,
    stop_cleanly_on_sigterm,
    vhost,
)
from broker.adapters.dev_workspace import init_workspace

# -- partners -------------------------------------------------------------------------------


def partners_series(counts: list[int], *, enquiries: int, latency_enquiries: int,
                    concurrency: int, workroot: Path) -> list[dict[str, Any]]:
    rows = []
    base_enquiries, base_latency = enquiries, latency_enquiries
    for count in counts:
        # The work per enquiry grows with the partners: keep each run to a few minutes
        # (the figures are rates; the floor gets the same numbers).
        enquiries = max(100, base_enquiries * 3 // count)
        latency_enquiries = max(20, base_latency * 3 // count)
        workdir = workroot / f"partners-{count}"
        workdir.mkdir(parents=True)
        with vhost(f"f{count}") as floor_url:
            log(f"partners {count}: floor")
            floor_tp = run_floor(floor_url, partners=count, enquiries=enquiries, concurrency=concurrency)
            floor_lat = run_floor(floor_url, partners=count, enquiries=latency_enquiries, concurrency=1)
        workspace = synthetic_workspace(workdir, count)
        partners = partner_ids(count)
        workload = Workload.synthetic(partners)
        with vhost(f"p{count}") as amqp_url, database("postgresql", workdir) as db_url:
            env = env_with(MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=db_url, MASH_AMQP_URL=amqp_url)
            with Stack(workdir, env) as stack:
                stack.migrate()
                stack.start_broker()
                stack.start_adapters(dict.fromkeys(partners, SYNTHETIC_ADAPTER))
                headers = auth_headers(workspace.root)
                log(f"partners {count}: broker throughput, {enquiries} enquiries")
                tp = asyncio.run(throughput(stack.base_url, workload, workspace.agreements_dir, n=enquiries,
                                            concurrency=concurrency, headers=headers, cpu=stack.cpu_snapshot))
                log(f"partners {count}: broker latency, {latency_enquiries} enquiries")
                lat = asyncio.run(latency(stack.base_url, workload, workspace.agreements_dir,
                                          n=latency_enquiries, headers=headers,
                                          summaries_logged=stack.summary_watcher().poll))
                memory = stack.broker_memory()
        row = {
            "partners": count,
            "enquiries": enquiries,
            "latency_enquiries": latency_enquiries,
            "broker_enquiries_per_s": tp["enquiries_per_s"],
            "floor_enquiries_per_s": floor_tp["enquiries_per_s"],
            "throughput_ratio": ratio(tp["enquiries_per_s"], floor_tp["enquiries_per_s"]),
            "broker_replies_per_s": round(tp["enquiries_per_s"] * count, 1),
            "floor_replies_per_s": round(floor_tp["enquiries_per_s"] * count, 1),
            "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"],
            "floor_p50_ms": floor_lat["p50_ms"], "floor_p99_ms": floor_lat["p99_ms"],
            "latency_ratio": ratio(lat["p50_ms"], floor_lat["p50_ms"]),
            "broker_cpu_ms_per_enquiry": tp.get("broker_cpu_ms_per_enquiry"),
            "broker_cpu_ms_per_partner_reply": round(tp.get("broker_cpu_ms_per_enquiry", 0) / count, 2),
            "peak_rss_mb": memory["peak_rss_mb"],
            "verified": tp["verified"] and lat["verified"],
            "summaries_verified": tp["summaries_verified"] + lat["summaries_verified"],
        }
        log(f"partners {count}: {row}")
        rows.append(row)
    return rows


# -- enquiries held open --------------------------------------------------------------------


def _queued(amqp_url: str) -> int:
    vhost_name = amqp_url.rsplit("/", 1)[1]
    out = rabbitmqctl("list_queues", "-p", vhost_name, "name", "messages", "--no-table-headers")
    return sum(int(parts[1]) for parts in (line.split() for line in out.splitlines())
               if len(parts) == 2 and parts[0].startswith("mash.partner.") and parts[1].isdigit())


def _wait_queued(amqp_url: str, expected: int, timeout: float = 600) -> None:
    """Until the relay has published every request (they wait in the partners' queues)."""
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        if _queued(amqp_url) >= expected:
            return
        time.sleep(1)
    raise TimeoutError(f"fewer than {expected} requests queued after {timeout:.0f} s")


def open_series(targets: list[int], *, concurrency: int, warmup: int, workroot: Path) -> dict[str, Any]:
    workdir = workroot / "open"
    workdir.mkdir(parents=True)
    workspace = init_workspace(workdir / "dev")
    workload = Workload.reference()
    asked = 3  # police, health, education; housing and probation are not_asked
    points = []
    with vhost("open") as amqp_url, database("postgresql", workdir) as db_url:
        env = env_with(MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=db_url, MASH_AMQP_URL=amqp_url)
        with Stack(workdir, env) as stack:
            stack.migrate()
            stack.start_broker()
            headers = auth_headers(workspace.root)

            async def open_up_to(total: int, already: int) -> None:
                async with client(stack.base_url, concurrency, headers) as http:
                    await open_many(http, workload, total - already, concurrency, start=already)

            opened = 0
            asyncio.run(open_up_to(warmup, 0))
            opened = warmup
            _wait_queued(amqp_url, asked * opened)
            time.sleep(3)
            base = stack.broker_memory()
            log(f"open: baseline after {warmup} warm-up enquiries: {base}")
            for target in targets:
                asyncio.run(open_up_to(warmup + target, opened))
                opened = warmup + target
                _wait_queued(amqp_url, asked * opened)
                time.sleep(3)
                memory = stack.broker_memory()
                growth_kb = (memory["rss_mb"] - base["rss_mb"]) * 1024
                point = {
                    "open_enquiries": target,
                    "requests_queued": _queued(amqp_url),
                    "rss_mb": memory["rss_mb"],
                    "peak_rss_mb": memory["peak_rss_mb"],
                    "rss_growth_mb": round(growth_kb / 1024, 1),
                    "kb_per_open_enquiry": round(growth_kb / target, 2),
                }
                log(f"open: {point}")
                points.append(point)
            async def count_dispatched() -> int:
                async with client(stack.base_url, 4, headers) as http:
                    page = (await http.get("/enquiries", params={"state": "dispatched", "limit": 500})).json()
                    return len(page["items"])

            still_open = asyncio.run(count_dispatched())
    return {"baseline_rss_mb": base["rss_mb"], "warmup_enquiries": warmup, "points": points,
            "dispatched_seen_in_first_page": still_open}


# -- enquiries stored -----------------------------------------------------------------------

EXPLAINED = {
    "enquiry by id": "SELECT * FROM enquiries WHERE enquiry_id = '{id}'",
    "its partner requests": "SELECT * FROM partner_requests WHERE enquiry_id = '{id}' ORDER BY partner_id",
    "its gate decisions": "SELECT * FROM gate_decisions WHERE enquiry_id = '{id}' ORDER BY seq",
    "its summaries": "SELECT * FROM summaries WHERE enquiry_id = '{id}' ORDER BY version",
    "its rejected messages": "SELECT message_id FROM rejected_messages WHERE enquiry_id = '{id}' ORDER BY id",
    "request owner (each reply)": "SELECT enquiry_id, partner_id FROM partner_requests WHERE request_id = '{rid}'",
    "list, state=dispatched (newest 50)": (
        "SELECT e.enquiry_id, (SELECT count(*) FROM partner_requests r WHERE r.enquiry_id = e.enquiry_id"
        " AND r.status = 'pending') FROM enquiries e WHERE e.state = 'dispatched'"
        " ORDER BY e.opened_at DESC, e.enquiry_id DESC LIMIT 50"
    ),
    "list, no filter (newest 50)": (
        "SELECT e.enquiry_id, (SELECT count(*) FROM partner_requests r WHERE r.enquiry_id = e.enquiry_id"
        " AND r.status = 'pending') FROM enquiries e ORDER BY e.opened_at DESC, e.enquiry_id DESC LIMIT 50"
    ),
    "outbox claim (relay)": (
        "SELECT * FROM outbox WHERE published_at IS NULL AND available_at <= now()"
        " ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED"
    ),
    "outbox resend (each chase)": (
        "SELECT * FROM outbox WHERE correlation_id = '{rid}' AND message_type = 'mash.partner-request'"
        " ORDER BY id LIMIT 1"
    ),
    "overdue (sweeper)": (
        "SELECT enquiry_id FROM enquiries WHERE state = 'dispatched' AND deadline_at <= now()"
        " ORDER BY deadline_at LIMIT 100"
    ),
    "due for chase (sweeper)": (
        "SELECT enquiry_id FROM enquiries WHERE state = 'dispatched' AND chase_at <= now()"
        " ORDER BY chase_at LIMIT 100"
    ),
}


def explain(db_url: str) -> dict[str, dict[str, Any]]:
    """EXPLAIN ANALYZE of the broker's queries: the plan's scans and the time it took."""
    import psycopg

    plans: dict[str, dict[str, Any]] = {}
    with psycopg.connect(db_url.replace("postgresql+asyncpg", "postgresql")) as c:
        eid, rid = c.execute(
            "SELECT enquiry_id, request_id FROM partner_requests ORDER BY random() LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        for name, sql in EXPLAINED.items():
            rows = c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql.format(id=eid, rid=rid)).fetchone()
            plan = rows[0][0]  # type: ignore[index]
            scans: list[str] = []

            def walk(node: dict[str, Any]) -> None:
                if "Scan" in node["Node Type"]:
                    scans.append(node["Node Type"]
                                 + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
                                 + (f" using {node['Index Name']}" if "Index Name" in node else ""))
                for child in node.get("Plans", []):
                    walk(child)

            walk(plan["Plan"])
            plans[name] = {"ms": round(plan["Execution Time"], 3), "scans": scans}
            c.rollback()
    return plans


def table_sizes(db_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(db_url.replace("postgresql+asyncpg", "postgresql")) as c:
        return {
            t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("enquiries", "partner_requests", "gate_decisions", "summaries", "outbox")
        }


CALLS = ("POST /enquiries", "GET /enquiries/{id} (new)", "GET /enquiries/{id} (stored)",
         "GET /enquiries?limit=50", "GET /enquiries?state=dispatched&limit=50")


async def _timed_calls(targets: list[dict[str, Any]], workload: Workload, samples: int) -> list[dict[str, Any]]:
    """Concurrency 1, the targets (one broker per stored size) taking turns call by call, so a
    change in the machine's load falls on every size alike. Each round, on each target: POST
    one enquiry; once it has closed, GET it, GET a stored one, list; p50/p99 of each."""
    times = [{name: [] for name in CALLS} for _ in targets]  # type: ignore[var-annotated]
    rng = random.Random(7)
    clients = [client(t["base_url"], 4, t["headers"]) for t in targets]
    try:
        for round_ in range(samples + 5):
            for index, (target, http) in enumerate(zip(targets, clients, strict=True)):

                async def timed(name: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
                    t0 = time.perf_counter()
                    response = await http.request(method, url, **kwargs)
                    if round_ >= 5:  # the first five rounds warm up
                        times[index][name].append((time.perf_counter() - t0) * 1000)
                    if response.status_code not in (200, 201):
                        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
                    return response

                created = await timed("POST /enquiries", "POST", "/enquiries", json=workload.body(round_))
                new_id = created.json()["enquiry_id"]
                # Let its replies be recorded first: each call below is timed on an idle broker.
                for _ in range(1500):
                    if (await http.get(f"/enquiries/{new_id}")).json()["state"] != "dispatched":
                        break
                    await asyncio.sleep(0.02)
                await timed("GET /enquiries/{id} (new)", "GET", f"/enquiries/{new_id}")
                await timed("GET /enquiries/{id} (stored)", "GET", f"/enquiries/{rng.choice(target['stored_ids'])}")
                await timed("GET /enquiries?limit=50", "GET", "/enquiries", params={"limit": 50})
                await timed("GET /enquiries?state=dispatched&limit=50", "GET", "/enquiries",
                            params={"state": "dispatched", "limit": 50})
    finally:
        for http in clients:
            await http.aclose()
    return [{name: {"p50_ms": round(quantile(v, 0.5), 2), "p99_ms": round(quantile(v, 0.99), 2),
                    "mean_ms": round(statistics.mean(v), 2)} for name, v in per_target.items()}
            for per_target in times]


def stored_series(sizes: list[int], *, samples: int, workers: int, workroot: Path) -> dict[str, Any]:
    """One database per size, each filled through the use cases (broker stopped); then one
    broker (with the three adapters) per database, all at once, timed taking turns."""
    import psycopg

    from bench.bulk import store

    points: list[dict[str, Any]] = []
    with contextlib.ExitStack() as resources:
        targets = []
        for size in sizes:
            workdir = workroot / f"stored-{size}"
            workdir.mkdir(parents=True)
            workspace = init_workspace(workdir / "dev")
            amqp_url = resources.enter_context(vhost(f"st{size}"))
            db_url = resources.enter_context(database("postgresql", workdir))
            env = env_with(MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=db_url, MASH_AMQP_URL=amqp_url)
            stack = Stack(workdir, env)
            stack.migrate()
            log(f"stored: {size} enquiries through the use cases")
            bulk = store(db_url, workspace.root, size, workers=workers)
            with psycopg.connect(db_url.replace("postgresql+asyncpg", "postgresql"), autocommit=True) as c:
                c.execute("VACUUM ANALYZE")  # as autovacuum would have by now
                stored_ids = [r[0] for r in c.execute(
                    "SELECT enquiry_id FROM enquiries ORDER BY random() LIMIT 1000").fetchall()]
            rows = table_sizes(db_url)
            log(f"stored: {rows} in {bulk['seconds']} s")
            points.append({"stored_enquiries": size, "bulk": bulk, "rows": rows})
            targets.append({"stack": stack, "workspace": workspace, "db_url": db_url, "stored_ids": stored_ids})
        for target in targets:
            stack = resources.enter_context(target["stack"])
            stack.start_broker()
            stack.start_adapters(REFERENCE_ADAPTERS)
            target["base_url"] = stack.base_url
            target["headers"] = auth_headers(target["workspace"].root)
        log(f"stored: timing {samples} rounds at concurrency 1, sizes {sizes} taking turns")
        timings = asyncio.run(_timed_calls(targets, Workload.reference(), samples))
        for point, target, timing in zip(points, targets, timings, strict=True):
            point["timings"] = timing
            point["broker_rss_mb"] = target["stack"].broker_memory()["rss_mb"]
            point["plans"] = explain(target["db_url"])
            log(f"stored {point['stored_enquiries']}: {json.dumps(timing)}")
    return {"samples": samples, "points": points}


# -- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.series", description=__doc__.splitlines()[0])
    ap.add_argument("--sections", default="partners,open,stored",
                    type=lambda s: [x.strip() for x in s.split(",") if x.strip()])
    ap.add_argument("--partners", default="3,10,30", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--enquiries", type=int, default=1000,
                    help="throughput run size at 3 partners; P partners get 3/P of it (at least 100)")
    ap.add_argument("--latency-enquiries", type=int, default=100,
                    help="latency samples at 3 partners; P partners get 3/P of it (at least 20)")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--open", default="1000,10000", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--open-warmup", type=int, default=200)
    ap.add_argument("--stored", default="100,100000", type=lambda s: [int(x) for x in s.split(",")])
    ap.add_argument("--bulk-workers", type=int, default=2,
                    help="processes storing enquiries through the use cases (PostgreSQL)")
    ap.add_argument("--samples", type=int, default=200, help="timed calls per kind at each stored size")
    ap.add_argument("--out", default=str(REPO / "var" / "bench" / "series.json"))
    ap.add_argument("--keep", action="store_true", help="keep logs and workspaces")
    args = ap.parse_args(argv)
    stop_cleanly_on_sigterm()
    started = time.monotonic()
    result: dict[str, Any] = {"machine": machine(), "load_average_start": load_average()}
    root = Path(tempfile.mkdtemp(prefix="mash-series-"))
    try:
        if "partners" in args.sections:
            result["partners"] = partners_series(
                args.partners, enquiries=args.enquiries, latency_enquiries=args.latency_enquiries,
                concurrency=args.concurrency, workroot=root)
        if "open" in args.sections:
            result["open"] = open_series(args.open, concurrency=args.concurrency,
                                         warmup=args.open_warmup, workroot=root)
        if "stored" in args.sections:
            result["stored"] = stored_series(args.stored, samples=args.samples,
                                             workers=args.bulk_workers, workroot=root)
    finally:
        if args.keep:
            log(f"logs and workspaces kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    result["load_average_end"] = load_average()
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    previous.update(result)  # sections run separately accumulate in one file
    out.write_text(json.dumps(previous, indent=2) + "\n")
    log(f"written to {out}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
