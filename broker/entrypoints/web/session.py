"""Signing in and out of the UI.

Development: the development issuer signs a token for the role and name picked on the
sign-in page (refused, 404, unless MASH_ENV=development and the configured issuer is the
development issuer). Either way the token is then verified by the API's TokenVerifier before
it becomes the session, so a token the API would refuse never signs anyone in.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broker.adapters.auth import DEV_ISSUER, DevIssuer, Unauthenticated
from broker.config import Settings
from broker.domain.access import ADMIN, AUDITOR, MASH_MANAGER, SCREENING_OFFICER, SOCIAL_WORKER
from broker.entrypoints.web.core import (
    UiRoute,
    broker_of,
    problem_page,
    read_form,
    render,
    safe_next,
    ui_principal,
    web_of,
)
from broker.entrypoints.web.security import SESSION_COOKIE, clear_cookie, set_cookie

router = APIRouter(route_class=UiRoute)

SIGN_IN_ROLES = (
    (SCREENING_OFFICER, "Screening officer"),
    (MASH_MANAGER, "MASH manager"),
    (AUDITOR, "Auditor"),
    (SOCIAL_WORKER, "Allocated social worker"),
    (ADMIN, "Administrator"),
)
SUBJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
SESSION_S = 8 * 3600


def dev_sign_in_allowed(settings: Settings) -> bool:
    return settings.env == "development" and settings.auth.issuer == DEV_ISSUER


@router.get("/ui/sign-in", response_class=HTMLResponse, include_in_schema=False)
async def sign_in_page(request: Request, next: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    try:
        principal = await ui_principal(request)
    except Unauthenticated:
        principal = None
    return render(request, "sign_in.html", {
        "next": safe_next(next), "dev": web_of(request).dev_sign_in, "roles_offered": SIGN_IN_ROLES,
        "oidc": broker_of(request).settings.web_oidc is not None,
    }, principal)


@router.post("/ui/sign-in", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    if not web_of(request).dev_sign_in:
        return problem_page(request, 404, "Not available",
                            "Development sign-in is only offered in development.")
    form = await read_form(request)
    role = form.get("role", "")
    subject = form.get("subject", "").strip()
    errors = []
    if role not in dict(SIGN_IN_ROLES):
        errors.append("Choose one of the roles offered.")
    if not SUBJECT.match(subject):
        errors.append("Your name: 1 to 64 letters, digits, dots, @, _ or -, starting with a letter or digit.")
    if errors:
        return render(request, "sign_in.html", {
            "next": safe_next(form.get("next")), "dev": True, "roles_offered": SIGN_IN_ROLES,
            "errors": errors, "subject": subject, "role": role,
        }, status=422)
    broker = broker_of(request)
    token = DevIssuer.from_workspace(broker.settings.dev_dir).issue(
        subject=subject, roles=[role], ttl_s=SESSION_S
    )
    await broker.verifier.verify_async(f"Bearer {token}")  # the API's own check, before it is a session
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=SESSION_S)
    return response


@router.post("/ui/sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    await read_form(request)
    response = RedirectResponse("/ui/sign-in", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE)
    return response
