"""A page for each optional feature not installed yet, so the navigation never leads nowhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from broker.entrypoints.web.core import UiPrincipal, UiRoute, render

TITLES = {"contacts": "Contacts", "timeliness": "Timeliness and thresholds", "notifications": "Routed contacts"}


def _page(title: str) -> Callable[[Request, UiPrincipal], Awaitable[Response]]:
    async def page(request: Request, principal: UiPrincipal) -> Response:
        return render(request, "placeholder.html", {"title": title}, principal)

    return page


def router_for(missing: set[str]) -> APIRouter:
    router = APIRouter(route_class=UiRoute)
    for name in sorted(missing):
        router.add_api_route(f"/ui/{name}", _page(TITLES[name]), methods=["GET"],
                             response_class=HTMLResponse, include_in_schema=False)
    return router
