"""Annotated dependency aliases, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from broker.bootstrap import Broker
from broker.domain.access import Principal


def get_broker(request: Request) -> Broker:
    return request.app.state.broker  # type: ignore[no-any-return]


async def get_principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    """The caller, from a verified bearer token (401 otherwise). Async: a sync dependency
    would pay a thread hand-off on every request for a check that needs no I/O."""
    broker: Broker = request.app.state.broker
    return await broker.verifier.verify_async(authorization)


BrokerDep = Annotated[Broker, Depends(get_broker)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
