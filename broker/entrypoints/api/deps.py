"""Annotated dependency aliases, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from broker.bootstrap import Broker


def get_broker(request: Request) -> Broker:
    return request.app.state.broker  # type: ignore[no-any-return]


BrokerDep = Annotated[Broker, Depends(get_broker)]
