"""A refusal answered over HTTP, from the API or the web UI, is logged and audited alike."""

from __future__ import annotations

import structlog
from starlette.requests import Request

from broker.domain.access import Denied
from broker.entrypoints.api.request_context import route_of
from broker.service.audit_trail import access_denied

log = structlog.get_logger("mash.http")


async def audit_denial(request: Request, error: Denied, status: int) -> None:
    route = route_of(request.scope) or "?"
    log.warning("access_denied", route=route, status=status, action=error.action)
    broker = request.app.state.broker
    await broker.record_audit(access_denied(error.actor, error.action, route, status, broker.clock.now()))
