"""Running an adapter until it is told to stop: connect, wait for the broker's topology,
consume, and close cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from adapters.sdk.transport.base import Handler, Transport


async def consume_until_stopped(
    transport: Transport, queue: str, handler: Handler, *, on_ready: Callable[[], None] = lambda: None,
    attempts: int = 60,
) -> None:
    await transport.start()
    # The broker declares the topology; wait for it rather than fail if we start first.
    for attempt in range(attempts):
        try:
            await transport.consume(queue, handler)
            break
        except Exception:
            if attempt == attempts - 1:
                raise
            await transport.close()
            await asyncio.sleep(1)
            await transport.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    on_ready()
    await stop.wait()
    await transport.close()
