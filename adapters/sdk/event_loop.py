"""Run a long-lived service's main coroutine on uvloop when it is installed.

uvloop (libuv) does the event loop's own work, socket reads and writes and callback
scheduling, in C: the broker and the adapters spend a large share of their CPU there (see
BENCHMARKS.md). The standard loop stays the fallback: nothing here depends on uvloop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
