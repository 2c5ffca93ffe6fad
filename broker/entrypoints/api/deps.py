"""Annotated dependency aliases, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from broker.adapters.auth import KeysNeeded

from broker.bootstrap import Broker
from broker.domain.access import Principal


def get_broker(request: Request) -> Broker:
    return request.app.state.broker  # type: ignore[no-any-return]


async def get_principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    """The caller, from a verified bearer token (401 otherwise).

    Verified on the event loop against the cached key set (a signature check, no I/O); only
    when the key set must be fetched does the check go to a worker thread, because the fetch
    blocks. A sync dependency would pay a thread hand-off on every request.
    """
    broker: Broker = request.app.state.broker
    try:
        return broker.verifier.verify(authorization, may_fetch=False)
    except KeysNeeded:
        return await run_in_threadpool(broker.verifier.verify, authorization)


BrokerDep = Annotated[Broker, Depends(get_broker)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
