"""The FastAPI application factory. Settings and the broker are made here, never at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from broker.adapters.auth import Unauthenticated
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.domain.access import Forbidden, NotVisible
from broker.domain.errors import DomainError
from broker.entrypoints.api.limits import BodyLimits, RateLimiter
from broker.entrypoints.api.request_context import RequestContext
from broker.entrypoints.denials import audit_denial
from broker.entrypoints.api.routes import router
from broker.entrypoints.api.front_door_routes import install_front_door
from broker.entrypoints.api.notification_routes import install_notification_routes
from broker.entrypoints.api.deliveries import router as deliveries_router
from broker.entrypoints.api.reports_routes import router as reports_router
from broker.entrypoints.web import mount_web

log = structlog.get_logger("mash.http")



def create_app(settings: Settings | None = None, *, broker: Broker | None = None) -> FastAPI:
    """An app that builds and starts its own broker, or serves one the caller started."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if broker is not None:
            app.state.broker = broker
            yield
            return
        own = build_broker(settings or Settings())
        await own.start()
        app.state.broker = own
        try:
            yield
        finally:
            await own.stop()

    app = FastAPI(
        title="MASH enquiry broker",
        version="0.1.0",
        description=(
            "Opens multi-agency safeguarding enquiries, asks the partners an information "
            "sharing agreement covers, and issues one signed summary."
        ),
        lifespan=lifespan,
    )
    app.include_router(router)
    install_front_door(app)  # contacts, screening, decisions: its routes and 404/409 answers
    install_notification_routes(app)  # the allocated worker acknowledges a routed contact
    app.include_router(deliveries_router)
    app.include_router(reports_router)
    limits = settings or (broker.settings if broker is not None else Settings())
    app.add_middleware(BodyLimits, max_bytes=limits.max_body_bytes, max_depth=limits.max_json_depth)
    app.state.open_rate = RateLimiter(per_minute=limits.open_rate_per_minute, burst=limits.open_rate_burst)
    mount_web(app, limits)  # the staff UI under /ui; `/` redirects there
    if broker is not None:
        app.state.broker = broker  # served as given, with or without a lifespan run

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(_: Request, error: Unauthenticated) -> JSONResponse:
        return JSONResponse(
            {"detail": str(error)}, status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="mash-broker"'},
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> JSONResponse:
        await audit_denial(request, error, 403)
        return JSONResponse({"detail": "forbidden"}, status_code=403)

    @app.exception_handler(NotVisible)
    async def not_visible(request: Request, error: NotVisible) -> JSONResponse:
        await audit_denial(request, error, 404)
        return JSONResponse({"detail": f"no such {error.what}"}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, error: RequestValidationError) -> JSONResponse:
        # Say where and what; do not echo the submitted values back.
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in error.errors()
        ]
        status = 400 if any(d["type"] == "json_invalid" for d in details) else 422
        return JSONResponse({"detail": details}, status_code=status)

    @app.exception_handler(sqlalchemy.exc.DBAPIError)
    async def database_unavailable(_: Request, error: Exception) -> JSONResponse:
        log.warning("database_unavailable", error=type(error).__name__)
        return JSONResponse(
            {"detail": "the database is unavailable; try again (an Idempotency-Key makes the retry safe)"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    # Added last, so outermost: its request id is bound before anything else logs.
    app.add_middleware(RequestContext)

    return app
