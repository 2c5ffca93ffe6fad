"""Small helpers for tests that drive a running broker."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select

from broker.adapters.db import tables as t
from broker.bootstrap import Broker
from broker.domain.access import MASH_MANAGER, Principal
from broker.entrypoints.api.routes import _command
from broker.entrypoints.api.schemas import EnquiryCreate
from broker.entrypoints.demo import scenario_enquiry
from broker.service.open_enquiry import Opened

T = TypeVar("T")

MANAGER = Principal(subject="test.manager", roles=frozenset({MASH_MANAGER}))


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 20.0, every: float = 0.1) -> T:
    """Poll until `probe` returns something truthy; fail with the last value after `timeout`."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + timeout
    value = await probe()
    while not value and loop.time() < stop:
        await asyncio.sleep(every)
        value = await probe()
    assert value, f"condition not met within {timeout} s (last value {value!r})"
    return value


async def open_scenario(
    broker: Broker, scenario: str = "no_trace", *, actor: Principal = MANAGER, **changes: Any
) -> Opened:
    body = scenario_enquiry(scenario, brag=changes.pop("brag", "amber"))
    body.update(changes)
    return await broker.open_enquiry(_command(EnquiryCreate.model_validate(body), broker, None, actor))


async def count(broker: Broker, table: t.Table, *where: Any) -> int:
    async with broker.engine.connect() as c:
        query = select(func.count()).select_from(table)
        for clause in where:
            query = query.where(clause)
        return int((await c.execute(query)).scalar_one())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def closed(
    client: httpx.Client, location: str, *, headers: dict[str, str] | None = None, timeout: float = 30
) -> dict[str, Any]:
    """GET `location` (an enquiry) over HTTP until it is complete or partial; its body."""
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        body = client.get(location, headers=headers).json()
        if body["state"] in ("complete", "partial"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{location} did not close")
