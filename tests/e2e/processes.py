"""Starting the real console scripts as separate processes, and stopping them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_with(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASH_")}
    env.update(values)
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], env=env, capture_output=True, text=True, timeout=timeout
    )


@contextmanager
def started(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A console script in the background; its output in `log`; terminated on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN / args[0]), *args[1:]], env=env, stdout=out, stderr=out)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{base_url} not ready within {timeout} s")


def wait_closed(client: httpx.Client, location: str, timeout: float = 60) -> dict:
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        body = client.get(location).json()
        if body["state"] in ("complete", "partial") and body["summaries"]:
            return body  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise TimeoutError(f"{location} not closed within {timeout} s")
