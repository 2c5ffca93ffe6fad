"""Signing in to the UI through the configured identity provider (OpenID Connect authorization
code flow with PKCE, RFC 7636).

GET /ui/sign-in/oidc sends the browser to the provider with a random `state`, `nonce` and a
S256 code challenge, remembered in a short-lived cookie MAC'd with the server key. The
provider sends the browser back to GET /ui/auth/callback with a code; the broker redeems it
at the token endpoint (with the code verifier) and keeps the token named by `token_field`
as the session, only after the API's TokenVerifier accepted it. The callback answers with a
page that moves on by a meta refresh: a same-site navigation, so the SameSite=Strict session
cookie is sent with the next request (it would not be on a redirect chain that began at the
provider).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

import httpx
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broker.adapters.auth import Unauthenticated
from broker.config import WebOidc
from broker.entrypoints.web.core import UiRoute, broker_of, problem_page, render, safe_next, web_of
from broker.entrypoints.web.security import SESSION_COOKIE, is_loopback, set_cookie

log = structlog.get_logger("mash.web.oidc")
router = APIRouter(route_class=UiRoute)

FLOW_COOKIE = "mash_oidc"
FLOW_S = 600
SESSION_S = 8 * 3600
_discovered: dict[str, dict[str, Any]] = {}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _config(request: Request) -> WebOidc | None:
    return broker_of(request).settings.web_oidc


async def _endpoints(request: Request, config: WebOidc) -> tuple[str, str]:
    if config.authorization_endpoint and config.token_endpoint:
        return config.authorization_endpoint, config.token_endpoint
    issuer = str(broker_of(request).settings.auth.issuer).rstrip("/")
    document = _discovered.get(issuer)
    if document is None:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(f"{issuer}/.well-known/openid-configuration")
            answer.raise_for_status()
            document = _discovered[issuer] = answer.json()
    return (config.authorization_endpoint or document["authorization_endpoint"],
            config.token_endpoint or document["token_endpoint"])


def _redirect_uri(request: Request, config: WebOidc) -> str:
    base = (config.redirect_base or f"{request.url.scheme}://{request.url.netloc}").rstrip("/")
    return f"{base}/ui/auth/callback"


def _mac(request: Request, body: str) -> str:
    key = web_of(request).csrf.key
    return _b64(hmac.new(key, f"oidc|{body}".encode(), hashlib.sha256).digest())


def _flow_cookie(request: Request, flow: dict[str, Any]) -> str:
    body = _b64(json.dumps(flow, separators=(",", ":")).encode())
    return f"{body}.{_mac(request, body)}"


def _read_flow(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLOW_COOKIE, "")
    body, _, mac = raw.partition(".")
    if not body or not hmac.compare_digest(_mac(request, body), mac):
        return None
    flow: dict[str, Any] = json.loads(_unb64(body))
    if flow.get("exp", 0) < time.time():
        return None
    return flow


@router.get("/ui/sign-in/oidc", include_in_schema=False)
async def start(request: Request, next: Annotated[str | None, Query(max_length=300)] = None) -> Response:
    config = _config(request)
    if config is None:
        return problem_page(request, 404, "Not available", "No identity provider is configured for the UI.")
    authorize, _ = await _endpoints(request, config)
    verifier = _b64(secrets.token_bytes(48))
    flow = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24), "verifier": verifier,
            "next": safe_next(next), "exp": int(time.time()) + FLOW_S}
    query = urlencode({
        "response_type": "code", "client_id": config.client_id, "redirect_uri": _redirect_uri(request, config),
        "scope": config.scope, "state": flow["state"], "nonce": flow["nonce"],
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256",
    })
    response = RedirectResponse(f"{authorize}?{query}", status_code=303)
    # Lax, not Strict: it must come back with the provider's (cross-site) redirect to the callback.
    response.set_cookie(FLOW_COOKIE, _flow_cookie(request, flow), max_age=FLOW_S, path="/ui/auth",
                        httponly=True, samesite="lax", secure=not is_loopback(request))
    return response


@router.get("/ui/auth/callback", response_class=HTMLResponse, include_in_schema=False)
async def callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    config = _config(request)
    if config is None:
        return problem_page(request, 404, "Not available", "No identity provider is configured for the UI.")
    flow = _read_flow(request)
    if error:
        return problem_page(request, 401, "Sign-in failed", f"The identity provider answered: {error}.")
    if flow is None or not state or not code or not hmac.compare_digest(flow["state"], state):
        log.warning("oidc_callback_refused", reason="state")
        return problem_page(request, 400, "Sign-in failed",
                            "This sign-in was not started here, or it took too long. Start again.")
    _, token_endpoint = await _endpoints(request, config)
    auth = None
    if config.client_secret is not None:
        auth = (config.client_id, config.client_secret.get_secret_value())
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.post(token_endpoint, auth=auth, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": _redirect_uri(request, config),
            "client_id": config.client_id, "code_verifier": flow["verifier"],
        })
    if answer.status_code != 200:
        log.warning("oidc_token_refused", status=answer.status_code)
        return problem_page(request, 401, "Sign-in failed", "The identity provider refused the sign-in code.")
    token = answer.json().get(config.token_field)
    if not isinstance(token, str):
        return problem_page(request, 401, "Sign-in failed", f"The provider sent no {config.token_field}.")
    try:
        await broker_of(request).verifier.verify_async(f"Bearer {token}")  # the API's own check
    except Unauthenticated as refused:
        log.warning("oidc_token_unverified", reason=str(refused))
        return problem_page(request, 401, "Sign-in failed", f"The token is not one this broker accepts: {refused}")
    response = render(request, "signed_in.html", {"next": flow["next"]})
    set_cookie(response, request, SESSION_COOKIE, token, max_age=SESSION_S)
    response.delete_cookie(FLOW_COOKIE, path="/ui/auth")
    return response

