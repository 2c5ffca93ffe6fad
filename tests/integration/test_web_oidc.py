"""Signing in to the web UI through an identity provider (OpenID Connect code flow with PKCE).

The provider here is a small real OIDC server on 127.0.0.1 (discovery, authorize, token) that
signs access tokens with the workspace's issuer key under its own issuer URL; the broker is
configured to trust that issuer only, so development sign-in is off."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient

from adapters.sdk.signing import SigningKey
from broker.adapters.auth import DevIssuer
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.web.security import SESSION_COOKIE
from tests.e2e.processes import free_port

CLIENT_ID = "mash-ui"


def identity_provider(issuer: str, key: SigningKey, user: dict[str, Any]) -> FastAPI:
    idp = FastAPI()
    codes: dict[str, dict[str, str]] = {}
    signer = DevIssuer(key, issuer=issuer)

    @idp.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, str]:
        return {"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks"}

    @idp.get("/authorize")
    def authorize(response_type: str, client_id: str, redirect_uri: str, state: str, code_challenge: str,
                  code_challenge_method: str, scope: str = "", nonce: str = "") -> RedirectResponse:
        if response_type != "code" or client_id != CLIENT_ID or code_challenge_method != "S256":
            raise HTTPException(400, "bad authorization request")
        code = secrets.token_urlsafe(16)
        codes[code] = {"challenge": code_challenge, "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

    @idp.post("/token")
    async def token(request: Request) -> dict[str, str]:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant_type, code, redirect_uri = form.get("grant_type"), form.get("code", ""), form.get("redirect_uri")
        client_id, code_verifier = form.get("client_id"), form.get("code_verifier", "")
        issued = codes.pop(code, None)  # one use only
        challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        if (issued is None or grant_type != "authorization_code" or client_id != CLIENT_ID
                or issued["redirect_uri"] != redirect_uri or issued["challenge"] != challenge):
            raise HTTPException(400, "invalid_grant")
        return {"access_token": signer.issue(subject=user["sub"], roles=user["roles"]), "token_type": "Bearer"}

    return idp


@pytest.fixture(name="provider")
def _provider(workspace: DevWorkspace) -> Iterator[str]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = SigningKey.from_pem_file(workspace.root / "keys" / "issuer.pem", None)
    server = uvicorn.Server(uvicorn.Config(
        identity_provider(issuer, key, {"sub": "mia.manager", "roles": ["mash_manager"]}),
        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stop = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < stop, "identity provider did not start"
        time.sleep(0.05)
    yield issuer
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str, provider: str) -> Iterator[TestClient]:
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url,
                        auth={"issuer": provider, "jwks": str(workspace.root / "keys" / "issuer.jwks.json")},
                        web_oidc={"client_id": CLIENT_ID})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def authorize(client: TestClient, next_path: str = "/ui/contacts") -> str:
    """Start at the broker, go through the provider; returns the callback path and query."""
    started = client.get("/ui/sign-in/oidc", params={"next": next_path}, follow_redirects=False)
    assert started.status_code == 303
    at_provider = httpx.get(started.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["location"])
    assert back.path == "/ui/auth/callback"
    return f"{back.path}?{back.query}"


def test_sign_in_through_the_identity_provider_with_pkce(client: TestClient) -> None:
    """The sign-in page offers the provider (no development role picker); the code flow ends
    with a session the API's verifier accepted, and the page moves on to `next` by a
    same-site meta refresh; the signed-in person is the provider's subject with its roles."""
    page = client.get("/ui/sign-in")
    assert "Sign in with your organisation" in page.text and 'name="role"' not in page.text
    started = client.get("/ui/sign-in/oidc", follow_redirects=False)
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://127.0.0.1/ui/auth/callback"]

    landed = client.get(authorize(client))
    assert landed.status_code == 200
    assert re.search(r'<meta http-equiv="refresh" content="0;url=/ui/contacts">', landed.text)
    cookie = next(v for k, v in landed.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    home = client.get("/ui/enquiries")
    assert home.status_code == 200 and "mia.manager" in home.text


def test_callback_refuses_a_foreign_state_and_a_replayed_code(client: TestClient) -> None:
    """A callback whose state is not the one this browser started with is refused (400) and
    signs nobody in; a code the provider already redeemed is refused (401)."""
    callback = authorize(client)
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    refused = client.get(forged)
    assert refused.status_code == 400 and SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    assert client.get(callback).status_code == 200  # the genuine one works once...
    client.cookies.clear()
    again = client.get("/ui/sign-in/oidc", follow_redirects=False)  # a fresh flow cookie
    assert again.status_code == 303
    state = parse_qs(urlsplit(again.headers["location"]).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    replayed = client.get("/ui/auth/callback", params={"code": code, "state": state})
    assert replayed.status_code == 401 and SESSION_COOKIE not in replayed.headers.get("set-cookie", "")
    assert client.get("/ui/enquiries", follow_redirects=False).status_code == 303  # still signed out
