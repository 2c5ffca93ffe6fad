"""What a benchmark runs on: a vhost and a database of its own, and the real processes.

Nothing here is mocked: `mash-broker serve` and `mash-adapter run` are the console scripts
of this virtualenv, started as separate processes exactly as in production (and as in
`tests/e2e`). Every vhost and database is created for the run and deleted after it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _find_floor_script() -> Path:
    """The shared floor script: $MASH_BENCH_FLOOR, else `shared/bench/amqp_floor.py` beside the
    checkout or beside any folder above it (a CI clone may sit deeper), else the workplace's."""
    if os.environ.get("MASH_BENCH_FLOOR"):
        return Path(os.environ["MASH_BENCH_FLOOR"])
    relative = Path("shared") / "bench" / "amqp_floor.py"
    for folder in [*REPO.parents, Path("/work")]:
        if (folder / relative).exists():
            return folder / relative
    return REPO.parent / relative


FLOOR_SCRIPT = _find_floor_script()
AMQP_HOST = os.environ.get("MASH_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672")
PG_ADMIN = os.environ.get("MASH_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BASE = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)


def log(message: str) -> None:
    """Progress goes to stderr; stdout's last line is the result."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stop_cleanly_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so processes, vhosts and databases are cleaned up."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run(
        ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=120
    )
    return result.stdout


@contextlib.contextmanager
def vhost(label: str = "run") -> Iterator[str]:
    """An AMQP URL on a new vhost of our own, deleted afterwards."""
    name = f"mash-bench-{label}-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"{AMQP_HOST}/{name}"
    finally:
        with contextlib.suppress(Exception):
            rabbitmqctl("delete_vhost", name)


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """An asyncpg URL to a new, empty PostgreSQL database, dropped afterwards."""
    import psycopg

    name = f"mash_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        with contextlib.suppress(Exception), psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The bench drives the broker as one MASH manager: the per-principal limit on opening
# enquiries (a guard against one account flooding the MASH, 60 a minute by default) would
# measure that guard, not the broker. Every other setting is the broker's default.
BENCH_SETTINGS = {
    "MASH_OPEN_RATE_PER_MINUTE": "1000000000",
    "MASH_OPEN_RATE_BURST": "1000000000",
}


def env_with(**values: str) -> dict[str, str]:
    """This environment without any MASH_ setting, plus BENCH_SETTINGS and `values`;
    `bench` importable (for the synthetic partners)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(BENCH_SETTINGS)
    env.update(values)
    return env


def run_script(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


# -- memory ---------------------------------------------------------------------------------


def memory_mb(pid: int) -> dict[str, float]:
    """Resident set now (VmRSS) and its peak over the process's life (VmHWM), in MiB.

    /proc/PID/status on Linux; psutil (current RSS only, peak unknown) elsewhere.
    """
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        values = {}
        for line in status.read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024  # kB -> MiB
        return {"rss_mb": round(values["VmRSS"], 1), "peak_rss_mb": round(values["VmHWM"], 1)}
    import psutil  # type: ignore[import-untyped]

    rss = psutil.Process(pid).memory_info().rss / 2**20
    return {"rss_mb": round(rss, 1), "peak_rss_mb": round(rss, 1)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat; psutil elsewhere)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


class SummaryWatcher:
    """Which enquiries the broker has logged a signed summary for, read from its log file.

    Lets the latency run learn that a summary exists without asking the broker (a GET every
    few milliseconds would take the broker's own time from the enquiry being measured).
    """

    def __init__(self, log_file: Path) -> None:
        self._file = log_file
        self._offset = 0
        self._partial = b""
        self.done: set[str] = set()

    def poll(self) -> set[str]:
        with self._file.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if b'"reply_recorded"' not in line:
                continue
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("summary_version") and record.get("enquiry_id"):
                    self.done.add(record["enquiry_id"])
        return self.done


# -- processes ------------------------------------------------------------------------------


@dataclass
class Stack:
    """`mash-broker serve` and partner adapters as separate processes; stopped on close."""

    workdir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    # How to start `mash-broker` (bench.whatif starts it through a patching entrypoint).
    broker_command: list[str] = field(default_factory=lambda: [str(BIN / "mash-broker")])
    broker: subprocess.Popen[bytes] | None = None
    adapters: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[object] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, args: list[str], log_name: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        out = (self.workdir / log_name).open("wb")
        self._logs.append(out)
        command = [*self.broker_command, *args[1:]] if args[0] == "mash-broker" else [str(BIN / args[0]), *args[1:]]
        return subprocess.Popen(command, env=env, stdout=out, stderr=out)

    def migrate(self) -> None:
        run_script(["mash-broker", "migrate"], self.env)

    def start_broker(self, timeout: float = 90) -> None:
        self.broker = self._spawn(
            ["mash-broker", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            "broker.log", self.env,
        )
        stop = time.monotonic() + timeout
        while time.monotonic() < stop:
            if self.broker.poll() is not None:
                raise RuntimeError(f"broker exited with {self.broker.returncode}; see {self.workdir}/broker.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"broker not ready within {timeout} s; see {self.workdir}/broker.log")

    def start_adapters(self, names: dict[str, str], timeout: float = 120) -> None:
        """{partner_id: adapter name or module:factory}; returns when each is consuming."""
        for partner_id, adapter in names.items():
            env = {**self.env, "MASH_ADAPTER_PARTNER_ID": partner_id}
            self.adapters[partner_id] = self._spawn(
                ["mash-adapter", "run", adapter], f"adapter-{partner_id}.log", env
            )
        stop = time.monotonic() + timeout
        waiting = set(names)
        while waiting and time.monotonic() < stop:
            for partner_id in list(waiting):
                process = self.adapters[partner_id]
                if process.poll() is not None:
                    raise RuntimeError(
                        f"adapter {partner_id} exited with {process.returncode}; "
                        f"see {self.workdir}/adapter-{partner_id}.log"
                    )
                text = (self.workdir / f"adapter-{partner_id}.log").read_text(errors="replace")
                if f"adapter {partner_id} consuming" in text:
                    waiting.discard(partner_id)
            time.sleep(0.1)
        if waiting:
            raise TimeoutError(f"adapters not consuming within {timeout} s: {sorted(waiting)}")

    def summary_watcher(self) -> SummaryWatcher:
        return SummaryWatcher(self.workdir / "broker.log")

    def broker_memory(self) -> dict[str, float]:
        assert self.broker is not None
        return memory_mb(self.broker.pid)

    def broker_cpu(self) -> float:
        assert self.broker is not None
        return cpu_seconds(self.broker.pid)

    def adapters_cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.adapters.values() if p.poll() is None)

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds so far of the broker and of all adapters together."""
        return {"broker": self.broker_cpu(), "adapters": self.adapters_cpu()}

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop_adapters(self) -> None:
        for process in self.adapters.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.adapters.values():
            self._stop(process)
        self.adapters.clear()

    def stop_broker(self) -> None:
        if self.broker is not None:
            self._stop(self.broker)
            self.broker = None

    def close(self) -> None:
        self.stop_adapters()
        self.stop_broker()
        for out in self._logs:
            out.close()  # type: ignore[attr-defined]
        self._logs.clear()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# -- the floor ------------------------------------------------------------------------------


def run_floor(amqp_url: str, *, partners: int, enquiries: int, concurrency: int) -> dict[str, float]:
    """One run of the shared floor script; its one JSON line."""
    if not FLOOR_SCRIPT.exists():
        raise FileNotFoundError(f"the floor script is not at {FLOOR_SCRIPT} (set MASH_BENCH_FLOOR)")
    result = subprocess.run(
        [sys.executable, str(FLOOR_SCRIPT), "--url", amqp_url, "--partners", str(partners),
         "--enquiries", str(enquiries), "--concurrency", str(concurrency)],
        capture_output=True, text=True, timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"floor failed ({result.returncode}): {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, object]:
    info: dict[str, object] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError):
        meminfo = Path("/proc/meminfo").read_text()
        match = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
        if match:
            info["ram_gb"] = round(int(match.group(1)) / 2**20, 1)
    with contextlib.suppress(OSError):
        cpu = Path("/proc/cpuinfo").read_text()
        match = re.search(r"model name\s*:\s*(.+)", cpu)
        if match:
            info["cpu"] = match.group(1).strip()
    import sqlite3
    from importlib import metadata

    info["sqlite"] = sqlite3.sqlite_version
    info["libraries"] = {}
    for name in ("fastapi", "uvicorn", "sqlalchemy", "asyncpg", "aiosqlite", "aio-pika", "joserfc",
                 "cryptography", "rfc8785", "pydantic", "structlog"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info["libraries"][name] = metadata.version(name)  # type: ignore[index]
    with contextlib.suppress(Exception):
        info["rabbitmq"] = rabbitmqctl("version").strip()
    with contextlib.suppress(Exception):
        import psycopg

        with psycopg.connect(PG_ADMIN) as c:
            info["postgresql"] = c.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    return info


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def clean_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path
