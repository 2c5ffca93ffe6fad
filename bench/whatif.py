"""What-if: the broker under the `make bench` load with a proposed fix applied as a patch in
its own process (nothing under broker/ changes), against the unpatched broker, in turns.

    python -m bench.whatif [--variants baseline,audit-off] [--rounds 2]
                           [--enquiries 600] [--latency-enquiries 100]

Each variant runs the PostgreSQL leg of `make bench` (three reference adapters, fresh
database and vhost): throughput at concurrency 64, latency at concurrency 1, broker CPU per
enquiry; variants take turns round by round, so the machine's load falls on all alike.

Patches (earlier ones, `save-changed` and `no-pre-ping`, became the broker's own behaviour
and were removed; a new proposal is added here as a patch, measured, then built for real):

* `audit-off`: AuditRepository.append does nothing: NOT a fix, an upper bound on what the
  audit log's appends (an insert into the audit inbox per audited transaction, sequenced
  later) cost.

The started broker is `python -m bench.whatif serve --patches P -- <mash-broker serve args>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

PATCHES = ("audit-off",)
VARIANTS = {
    "baseline": [],
    "audit-off": ["audit-off"],
}


def apply(patches: list[str]) -> None:
    """Patch this process for the rest of its life (it is the broker `serve` starts)."""
    if "audit-off" in patches:
        from broker.adapters.db.audit_store import AuditRepository

        async def append(self: Any, *entries: Any) -> list[Any]:
            return []

        AuditRepository.append = append  # type: ignore[method-assign]
    print(f"bench.whatif: patches applied: {patches or 'none'}", file=sys.stderr, flush=True)


def serve(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.whatif serve")
    ap.add_argument("--patches", default="")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    apply([p for p in args.patches.split(",") if p])
    from broker.entrypoints.cli import app

    sys.argv = ["mash-broker", *[a for a in args.rest if a != "--"]]
    app()


def one(variant: str, *, enquiries: int, latency_enquiries: int, workroot: Path) -> dict[str, Any]:
    from bench.harness import REFERENCE_ADAPTERS, database
    from bench.load import Workload, auth_headers, latency, throughput
    from bench.stack import Stack, env_with, vhost
    from broker.adapters.dev_workspace import init_workspace

    workdir = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=workroot))
    workspace = init_workspace(workdir / "dev")
    workload = Workload.reference()
    with vhost("wi") as amqp_url, database("postgresql", workdir) as db_url:
        env = env_with(MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=db_url, MASH_AMQP_URL=amqp_url)
        command = [sys.executable, "-m", "bench.whatif", "serve", "--patches", ",".join(VARIANTS[variant]), "--"]
        with Stack(workdir, env, broker_command=command) as stack:
            stack.migrate()
            stack.start_broker()
            stack.start_adapters(REFERENCE_ADAPTERS)
            headers = auth_headers(workspace.root)
            tp = asyncio.run(throughput(stack.base_url, workload, workspace.agreements_dir, n=enquiries,
                                        concurrency=64, headers=headers, cpu=stack.cpu_snapshot))
            lat = asyncio.run(latency(stack.base_url, workload, workspace.agreements_dir, n=latency_enquiries,
                                      headers=headers, summaries_logged=stack.summary_watcher().poll))
    if not (tp["verified"] and lat["verified"]):
        raise RuntimeError(f"{variant}: summaries did not verify: {tp['problems'] or lat['problems']}")
    return {"enquiries_per_s": tp["enquiries_per_s"], "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"],
            "broker_cpu_ms_per_enquiry": tp["broker_cpu_ms_per_enquiry"]}


def run(argv: list[str]) -> int:
    from bench.stack import log, stop_cleanly_on_sigterm

    ap = argparse.ArgumentParser(prog="python -m bench.whatif")
    ap.add_argument("--variants", default="baseline,audit-off",
                    type=lambda s: [x.strip() for x in s.split(",") if x.strip()])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--enquiries", type=int, default=600)
    ap.add_argument("--latency-enquiries", type=int, default=100)
    args = ap.parse_args(argv)
    stop_cleanly_on_sigterm()
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
    with tempfile.TemporaryDirectory(prefix="mash-whatif-") as tmp:
        for round_ in range(args.rounds):
            for variant in args.variants:
                r = one(variant, enquiries=args.enquiries, latency_enquiries=args.latency_enquiries,
                        workroot=Path(tmp))
                log(f"round {round_ + 1} {variant}: {r}")
                results[variant].append(r)
    summary = {
        v: {k: round(statistics.median(r[k] for r in runs), 2) for k in runs[0]} for v, runs in results.items()
    }
    base = summary.get("baseline")
    for v, s in summary.items():
        line = f"{v:14} {s['enquiries_per_s']:7.1f}/s  p50 {s['p50_ms']:6.1f} ms  cpu {s['broker_cpu_ms_per_enquiry']:6.1f} ms"
        if base and v != "baseline":
            line += (f"   ({s['enquiries_per_s'] / base['enquiries_per_s'] - 1:+.0%} rate,"
                     f" {s['p50_ms'] / base['p50_ms'] - 1:+.0%} p50,"
                     f" {s['broker_cpu_ms_per_enquiry'] / base['broker_cpu_ms_per_enquiry'] - 1:+.0%} cpu)")
        print(line)
    print(json.dumps({"rounds": args.rounds, "enquiries": args.enquiries, "median": summary, "runs": results}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    else:
        raise SystemExit(run(sys.argv[1:]))
