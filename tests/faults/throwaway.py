"""Throw-away RabbitMQ nodes and PostgreSQL clusters for fault tests.

Fault tests stop, restart and disconnect these, never the machine's shared
services: each runs on its own ports with its own data under a temporary folder
and is removed at the end (RELIABILITY_SECURITY.md §5.1).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.processes import free_port

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
PG_BIN = Path("/usr/lib/postgresql") / sorted(os.listdir("/usr/lib/postgresql"))[-1] / "bin"


class RabbitNode:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = f"mashfault{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self._env = {
            **os.environ,
            "HOME": str(root / "home"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(root / "node.pid"),
        }
        self._process: subprocess.Popen[bytes] | None = None

    def ctl(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.name, "-q", *args],
            env=self._env, capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def start(self) -> None:
        for folder in ("home", "mnesia", "log"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "loopback_users = none\n"
            "vm_memory_high_watermark.relative = 0.2\n"
        )
        (self.root / "enabled_plugins").write_text("[].\n")
        (self.root / "rabbitmq-env.conf").write_text("")
        with (self.root / "server.out").open("wb") as out:
            self._process = subprocess.Popen(
                [str(RABBIT_BIN / "rabbitmq-server")], env=self._env, stdout=out, stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node exited: {(self.root / 'server.out').read_text()[-2000:]}")
            try:
                self.ctl("await_startup", "--timeout", "5", timeout=20)
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                time.sleep(0.5)
        raise TimeoutError("throw-away RabbitMQ node did not start within 90 s")

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "30")

    def close_all_connections(self, why: str = "fault test") -> None:
        self.ctl("close_all_connections", why)

    def connections(self) -> int:
        return len([line for line in self.ctl("list_connections", "name").splitlines() if line.strip()])

    def stop(self) -> None:
        try:
            self.ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        if self._process is not None:
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, 9)
                self._process.wait()


@contextmanager
def rabbit_node(root: Path) -> Iterator[RabbitNode]:
    node = RabbitNode(root)
    node.start()
    try:
        yield node
    finally:
        node.stop()


class PostgresCluster:
    """A cluster of our own: initdb as the postgres user, trust auth, loopback, own port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
            timeout=timeout, cwd="/",
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]}: {result.stdout[-1000:]} {result.stderr[-1000:]}")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync")

    def start(self) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-w",
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    # Its own folder, not pytest's tmp_path: the postgres user must be able to reach it.
    root = Path(tempfile.gettempdir()) / f"mash-fault-pg-{uuid.uuid4().hex[:8]}"
    root.mkdir(mode=0o755)
    cluster = PostgresCluster(root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        except RuntimeError:
            pass
        shutil.rmtree(root, ignore_errors=True)
