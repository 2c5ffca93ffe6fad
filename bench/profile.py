"""Profile `mash-broker serve` under the throughput load with py-spy, and say what dominates.

    python -m bench.profile [--enquiries 1500] [--database postgresql|sqlite] [--out DIR]

Starts the same stack as `make bench` (broker + three reference adapters, RabbitMQ), attaches
`py-spy record` (sampling, 100 Hz, non-blocking, on-CPU samples only) to the broker process
for the whole throughput run, and writes to DIR (default var/bench/profile-<database>):

* `broker.collapsed`: collapsed stacks (flamegraph.pl / speedscope input);
* `broker.svg`: a flame graph rendered from them by py-spy;
* `profile.json`: on-CPU share by operation, by component, and the top functions (self and
  inclusive), also printed, with the JSON on the last line.

py-spy is not a dependency of the broker: `.venv/bin/pip install py-spy` (root or
CAP_SYS_PTRACE is needed to attach).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import REFERENCE_ADAPTERS, database
from bench.load import Workload, auth_headers, throughput
from bench.stack import BIN, REPO, Stack, env_with, log, vhost
from broker.adapters.dev_workspace import init_workspace

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# What the broker process is doing, by the outermost frame that names it (first match wins,
# searched from the root of the stack down).
OPERATIONS = [
    ("POST /enquiries (route)", ("create_enquiry",)),
    ("GET /enquiries/{id}/summary (route; the harness verifying every summary after the run)", ("get_summary",)),
    ("GET /enquiries/{id} (route)", ("get_enquiry",)),
    ("GET /enquiries (route; the harness's completion check)", ("list_enquiries",)),
    ("reply consumer (record_reply)", ("record_reply", "_record", "_dead_letter")),
    ("outbox relay", ("OutboxRelay.run_once", "OutboxRelay.run_forever", "OutboxRelay._publish")),
    ("deadline sweeper / chaser", ("_sweep_forever",)),
    ("HTTP outside the routes (uvicorn, middleware, routing, dependencies)",
     ("run_asgi", "BodyLimits.__call__", "FastAPI.__call__", "H11Protocol.data_received",
      "bind_request_ids", "solve_dependencies", "call_next")),
    ("socket reads and protocol parsing (HTTP, PostgreSQL, AMQP)", ("_read_ready__data_received", "_read_ready")),
    ("AMQP client (aiormq, pamqp)", ("aiormq", "pamqp")),
]

# Which library a frame's file belongs to.
COMPONENTS = [
    ("signing: rfc8785 canonical JSON", ("rfc8785",)),
    ("signing: joserfc / cryptography (Ed25519, JWS)", ("joserfc", "cryptography")),
    ("bearer-token check (broker/adapters/auth.py)", ("broker/adapters/auth.py",)),
    ("pydantic validation / serialisation", ("pydantic",)),
    ("SQLAlchemy (core, compile, result)", ("sqlalchemy",)),
    ("asyncpg driver", ("asyncpg",)),
    ("aiosqlite / sqlite3", ("aiosqlite", "sqlite3")),
    ("structlog (logging)", ("structlog", "logging/")),
    ("json (stdlib)", ("json/",)),
    ("aio-pika / aiormq / pamqp", ("aio_pika", "aiormq", "pamqp")),
    ("uvicorn / starlette / fastapi / h11 / httptools", ("uvicorn", "starlette", "fastapi", "h11", "httptools")),
    ("python-stdnum (identifier checks)", ("stdnum",)),
    ("asyncio event loop", ("asyncio/",)),
    ("broker code (broker/)", ("/broker/",)),
    ("adapters SDK code (adapters/)", ("/adapters/",)),
]


def parse_frame(frame: str) -> tuple[str, str]:
    match = FRAME.match(frame)
    if not match:
        return frame, ""
    return match.group("func"), match.group("file")


def component(file: str) -> str:
    for name, needles in COMPONENTS:
        if any(n in file for n in needles):
            return name
    return "other (stdlib, uuid, datetime, ...)"


IDLE_LEAVES = ("Condition.wait", "EpollSelector.select", "select (selectors", "Queue.get")


def operation(frames: list[tuple[str, str]]) -> str:
    if frames and frames[0][0] != "<module>":
        # A stack that does not start at the program: SQLAlchemy's synchronous core running
        # inside greenlet_spawn (py-spy shows a greenlet's frames as a stack of its own).
        if any("sqlalchemy" in file for _, file in frames[:3]):
            return "SQLAlchemy core inside greenlet_spawn (statement build, compile, execute, results)"
        if any(func == "WorkerThread.run" for func, _ in frames[:4]):
            return "thread pool (sync FastAPI dependencies: bearer-token check)"
    for name, needles in OPERATIONS:
        for func, file in frames:
            for needle in needles:
                if func == needle or func.endswith("." + needle) or (
                        needle in ("aiormq", "pamqp") and f"{needle}/" in file):
                    return name
    return "other (event loop, callbacks, truncated stacks)"


def analyse(collapsed: Path, top: int = 25) -> dict[str, Any]:
    """Shares of on-CPU samples: by operation, by component (of the leaf frame), by function.

    Left out, and counted apart: idle waits py-spy does not recognise as idle (a thread-pool
    worker waiting for work), and samples whose innermost frame is a socket send. On a busy
    two-core machine a send that wakes PostgreSQL or RabbitMQ lets the woken process run:
    the broker, still runnable, is sampled "in send" while it waits for a core (/proc shows
    the broker's system time is a tenth of its user time, so these are not CPU).
    """
    total = idle = sending = 0
    by_operation: collections.Counter[str] = collections.Counter()
    by_component: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        frames = [f for f in frames if not f[0].startswith("process ") and not f[0].startswith("thread ")]
        if not frames:
            continue
        leaf_func, leaf_file = frames[-1]
        if any(leaf_func.startswith(x) or x in f"{leaf_func} ({leaf_file}" for x in IDLE_LEAVES):
            idle += count
            continue
        if leaf_func in ("_SelectorSocketTransport.write", "WriteTransport.writelines") or (
            leaf_func == "write" and "selector_events" in leaf_file):
            sending += count
            continue
        total += count
        by_operation[operation(frames)] += count
        by_component[component(leaf_file)] += count
        self_time[f"{leaf_func} ({short(leaf_file)})"] += count
        for func, file in {(f, short(p)) for f, p in frames}:
            inclusive[f"{func} ({file})"] += count

    def shares(counter: collections.Counter[str], n: int | None = None,
               keep: Callable[[str], bool] = lambda _: True) -> list[list[Any]]:
        return [[name, round(100 * c / total, 1)] for name, c in counter.most_common() if keep(name)][:n]

    ours = ("broker/", "adapters/")
    return {
        "samples_counted": total,
        "samples_left_out": {"idle_waits": idle, "in_socket_send_waiting_for_a_core": sending},
        "by_operation_pct": shares(by_operation),
        "by_component_pct": shares(by_component),
        "top_self_pct": shares(self_time, top),
        "broker_functions_inclusive_pct": shares(
            inclusive, top * 2, keep=lambda n: n.split(" (", 1)[1].startswith(ours)),
        "top_inclusive_pct": shares(inclusive, top * 3),
    }


class PgWaits(threading.Thread):
    """Samples what the broker's PostgreSQL backends are doing (pg_stat_activity), every 50 ms:
    running, idle in a transaction, or waiting, and on what (e.g. Lock/advisory: the audit
    log's append lock; IO/WALSync: a commit's flush)."""

    def __init__(self, db_url: str) -> None:
        super().__init__(daemon=True)
        self._url = db_url.replace("postgresql+asyncpg", "postgresql")
        self._database = db_url.rsplit("/", 1)[1]
        self._halt = threading.Event()
        self.samples: collections.Counter[str] = collections.Counter()
        self.ticks = 0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self._url, autocommit=True) as c:
            while not self._halt.wait(0.05):
                self.ticks += 1
                for state, kind, name in c.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid() AND state <> 'idle'",
                    (self._database,),
                ).fetchall():
                    label = f"{state}: waiting on {kind}/{name}" if kind else f"{state}: on CPU"
                    self.samples[label] += 1

    def stop(self) -> dict[str, Any]:
        self._halt.set()
        self.join(timeout=5)
        return {
            "ticks": self.ticks,
            "mean_busy_backends": round(sum(self.samples.values()) / max(self.ticks, 1), 2),
            "backend_states_per_tick": [[k, round(v / max(self.ticks, 1), 3)]
                                        for k, v in self.samples.most_common(12)],
        }


def short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", str(REPO) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    ap.add_argument("--enquiries", type=int, default=1500)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--database", default="postgresql", choices=["postgresql", "sqlite"])
    ap.add_argument("--rate", type=int, default=100, help="samples per second")
    ap.add_argument("--out", help="output directory (default var/bench/profile-<database>)")
    args = ap.parse_args(argv)
    pyspy = shutil.which("py-spy") or str(BIN / "py-spy")
    if not Path(pyspy).exists():
        print("py-spy is not installed: .venv/bin/pip install py-spy", file=sys.stderr)
        return 2
    out = Path(args.out or REPO / "var" / "bench" / f"profile-{args.database}")
    out.mkdir(parents=True, exist_ok=True)
    workdir = out / "run"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    workspace = init_workspace(workdir / "dev")
    with vhost("prof") as amqp_url, database(args.database, workdir) as db_url:
        env = env_with(MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=db_url, MASH_AMQP_URL=amqp_url)
        with Stack(workdir, env) as stack:
            stack.migrate()
            stack.start_broker()
            stack.start_adapters(REFERENCE_ADAPTERS)
            assert stack.broker is not None
            collapsed = out / "broker.collapsed"
            spy = subprocess.Popen(
                [pyspy, "record", "--pid", str(stack.broker.pid), "--rate", str(args.rate),
                 "--nonblocking", "--format", "raw", "--output", str(collapsed)],
                stdout=subprocess.DEVNULL, stderr=(out / "py-spy.log").open("wb"),
            )
            time.sleep(1.0)
            waits = PgWaits(db_url) if args.database == "postgresql" else None
            if waits:
                waits.start()
            log(f"profiling the broker (pid {stack.broker.pid}) under {args.enquiries} enquiries")
            result = asyncio.run(throughput(
                stack.base_url, Workload.reference(), workspace.agreements_dir, n=args.enquiries,
                concurrency=args.concurrency, headers=auth_headers(workspace.root), warmup=20,
            ))
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
            pg_waits = waits.stop() if waits else None
    if not collapsed.exists():
        print(f"py-spy wrote nothing; see {out / 'py-spy.log'}", file=sys.stderr)
        return 1
    with (out / "broker.svg").open("wb") as svg:
        # py-spy renders a flame graph from its own collapsed output only while recording;
        # keep the collapsed stacks as the artefact and draw a simple SVG with flamegraph.pl
        # if it is installed.
        flamegraph = shutil.which("flamegraph.pl")
        if flamegraph:
            subprocess.run([flamegraph, str(collapsed)], stdout=svg, check=False)
    if (out / "broker.svg").stat().st_size == 0:
        (out / "broker.svg").unlink()
    report = {"database": args.database, "throughput": result, "postgresql_backends": pg_waits,
              **analyse(collapsed)}
    (out / "profile.json").write_text(json.dumps(report, indent=2) + "\n")
    if pg_waits:
        print(f"\nPostgreSQL backends of the broker, mean per 50 ms sample: {pg_waits['mean_busy_backends']}")
        for name, share in pg_waits["backend_states_per_tick"]:
            print(f"  {share:6.3f}  {name}")
    for key in ("by_operation_pct", "by_component_pct", "top_self_pct", "broker_functions_inclusive_pct"):
        print(f"\n{key}:")
        for name, pct in report[key]:
            print(f"  {pct:5.1f}%  {name}")
    print(json.dumps({k: v for k, v in report.items() if k not in ("top_inclusive_pct", "top_self_pct")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
