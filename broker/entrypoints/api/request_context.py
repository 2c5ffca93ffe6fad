"""The outermost HTTP layer: a request id on every response and log line, one access-log line
per request, and 503 with Retry-After when a dependency is lost before the answer started.

Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs every
request through a task group and memory streams, which cost the broker more CPU per
request than the route it wraps (see BENCHMARKS.md); this wraps `send` and nothing else.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import sqlalchemy.exc
import structlog
from starlette.responses import JSONResponse

log = structlog.get_logger("mash.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# Errors meaning "a dependency went away", not "the request was wrong": the caller may retry.
UNAVAILABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    ConnectionError,
    OSError,
)


def route_of(scope: Scope) -> str | None:
    """The route template (`/enquiries/{enquiry_id}`), never the path: paths carry ids."""
    return getattr(scope.get("route"), "path", None)


class RequestContext:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()
        request_id = str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(http_request_id=request_id)
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except UNAVAILABLE as error:
            if status is not None:
                raise  # the answer has begun: nothing truthful can replace it now
            log.warning("dependency_unavailable", error=type(error).__name__)
            unavailable = JSONResponse(
                {"detail": "a dependency is unavailable; try again"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
            await unavailable(scope, receive, send_with_id)
        finally:
            log.info(
                "http_request",
                method=scope["method"],
                route=route_of(scope),
                status=status if status is not None else 500,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )
