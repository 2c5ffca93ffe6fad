"""Annotated dependency aliases, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from broker.bootstrap import Broker
from broker.domain.access import Principal


def get_broker(request: Request) -> Broker:
    return request.app.state.broker  # type: ignore[no-any-return]


def get_principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    """The caller, from a verified bearer token (401 otherwise)."""
    broker: Broker = request.app.state.broker
    return broker.verifier.verify(authorization)


BrokerDep = Annotated[Broker, Depends(get_broker)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
