"""The web UI's edge protections: security headers, the session cookie and CSRF tokens.

* Every /ui response carries a strict Content-Security-Policy (scripts and styles only from
  this origin, no inline code, no framing) and the usual hardening headers.
* The session cookie holds the bearer token the identity provider (or, in development, the
  development issuer) signed. It is verified on every request by the same TokenVerifier as
  the JSON API, so the UI has no authorization path of its own. HttpOnly, SameSite=Strict,
  Path=/ui, and Secure unless the browser talks to a loopback address.
* CSRF: every form POST carries a token that is an HMAC, under a server key, of a random
  per-browser anchor cookie and the session cookie. A token from another browser, another
  session or none at all is refused (403) before the form is read any further.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request, Response

SESSION_COOKIE = "mash_session"
ANCHOR_COOKIE = "mash_anchor"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/ui"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class UiSecurityHeaders:
    """Adds the security headers to every response under /ui and to the root redirect;
    pages also get `Cache-Control: no-store` (they show personal data)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == "/" or path == "/ui" or path.startswith("/ui/")):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/ui/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def is_loopback(request: Request) -> bool:
    return (request.url.hostname or "") in LOOPBACK


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=not is_loopback(request) or request.url.scheme == "https",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite="strict",
        secure=not is_loopback(request) or request.url.scheme == "https",
    )


class CsrfError(Exception):
    """A state-changing request without a valid CSRF token."""


class Csrf:
    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    @property
    def key(self) -> bytes:
        return self._key

    @staticmethod
    def new_anchor() -> str:
        return secrets.token_urlsafe(32)

    def token(self, anchor: str, session: str | None) -> str:
        bound = hashlib.sha256((session or "").encode()).hexdigest()
        mac = hmac.new(self._key, f"csrf|{anchor}|{bound}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def check(self, request: Request, submitted: str | None) -> None:
        anchor = request.cookies.get(ANCHOR_COOKIE)
        if not anchor or not submitted:
            raise CsrfError("the form has no CSRF token, or the browser sent no anchor cookie")
        expected = self.token(anchor, request.cookies.get(SESSION_COOKIE))
        if not hmac.compare_digest(expected, submitted):
            raise CsrfError("the form's CSRF token does not match this session")
