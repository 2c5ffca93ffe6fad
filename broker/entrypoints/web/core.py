"""What every UI page shares: the route class that turns refusals into pages, the signed-in
principal, rendering with the CSRF token, and reading a form.

Other features add pages with `router = APIRouter(route_class=UiRoute)`, the `UiPrincipal`
dependency, `read_form(request)` for POSTs (it checks the CSRF token) and
`render(request, "their_template.html", {...}, principal)` with a template that
`{% extends "base.html" %}`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, unquote

import structlog
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from broker.adapters.auth import Unauthenticated
from broker.bootstrap import Broker
from broker.domain.access import Denied, Forbidden, Principal
from broker.domain.contact_retention import ContactPurged
from broker.domain.errors import DomainError
from broker.entrypoints.api.request_context import route_of
from broker.entrypoints.denials import audit_denial
from broker.entrypoints.web.security import (
    ANCHOR_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Csrf,
    CsrfError,
    set_cookie,
)

log = structlog.get_logger("mash.web")

HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
MAX_FORM_BYTES = 64 * 1024


@dataclass
class WebUi:
    """Per-app UI state: the CSRF key, whether development sign-in is offered."""

    csrf: Csrf
    dev_sign_in: bool


def web_of(request: Request) -> WebUi:
    return request.app.state.web  # type: ignore[no-any-return]


def broker_of(request: Request) -> Broker:
    return request.app.state.broker  # type: ignore[no-any-return]


async def ui_principal(request: Request) -> Principal:
    """The signed-in person: the session cookie's token, verified exactly as the API does."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise Unauthenticated("not signed in")
    return await broker_of(request).verifier.verify_async(f"Bearer {token}")


UiPrincipal = Annotated[Principal, Depends(ui_principal)]


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    principal: Principal | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    anchor = request.cookies.get(ANCHOR_COOKIE)
    fresh = anchor is None
    if anchor is None:
        anchor = Csrf.new_anchor()
    csrf = web_of(request).csrf.token(anchor, request.cookies.get(SESSION_COOKIE))
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"principal": principal, "csrf_token": csrf, "roles": sorted(principal.roles) if principal else [],
         **(context or {})},
        status_code=status,
    )
    if fresh:
        set_cookie(response, request, ANCHOR_COOKIE, anchor, max_age=None)
    return response


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, after its CSRF token checked out."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise CsrfError("forms are posted as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise DomainError(f"the form is over {MAX_FORM_BYTES} bytes")
    fields = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
    web_of(request).csrf.check(request, fields.pop(CSRF_FIELD, None) or request.headers.get(CSRF_HEADER))
    return fields




def problem_page(request: Request, status: int, title: str, detail: str,
                 principal: Principal | None = None) -> HTMLResponse:
    return render(request, "problem.html", {"title": title, "detail": detail, "status": status},
                  principal, status=status)


class UiRoute(APIRoute):
    """Refusals become pages: not signed in → the sign-in page; a forbidden action → 403 and
    a not-visible record → 404, both audited as the API does; invalid input → 422 with the reason."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except Unauthenticated as error:
                if request.method == "GET" and "text/event-stream" not in request.headers.get("accept", ""):
                    target = quote(request.url.path, safe="/")
                    return RedirectResponse(f"/ui/sign-in?next={target}", status_code=303)
                return problem_page(request, 401, "Sign in again", str(error))
            except CsrfError as error:
                log.warning("csrf_refused", route=route_of(request.scope) or "?")
                return problem_page(request, 403, "Form refused",
                                    f"{error}. Reload the page and submit the form again.")
            except Forbidden as error:
                await audit_denial(request, error, 403)
                return problem_page(request, 403, "Not allowed", "Your role does not allow this action.")
            except Denied as error:
                await audit_denial(request, error, 404)
                return problem_page(request, 404, "Not found", "There is no such record.")
            except ContactPurged as error:
                return problem_page(request, 410, "Purged", str(error))
            except DomainError as error:
                return problem_page(request, 422, "Cannot do that", str(error))

        return handler


def safe_next(target: str | None) -> str:
    """Only a path inside the UI (no scheme, no host, no //) is followed after sign-in."""
    plain = unquote(target or "")
    if (plain.startswith("/ui/") and "\\" not in plain and "//" not in plain
            and ".." not in plain.split("?")[0].split("/") and all(c.isprintable() for c in plain)):
        return target  # type: ignore[return-value]
    return "/ui/"
