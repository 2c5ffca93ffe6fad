"""Bearer tokens: only a token signed by the configured issuer's key, with an allowed
algorithm, the right issuer and audience, and not expired, gets through."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt

from adapters.sdk.signing import SigningKey
from broker.adapters.auth import DevIssuer
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app

pytestmark = pytest.mark.security


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(dev_dir=workspace.root, database_url=sqlite_url))) as client:
        yield client


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims(**overrides: object) -> dict:
    now = int(time.time())
    return {"iss": "mash-dev-issuer", "aud": "mash-broker", "sub": "alice", "roles": ["mash_manager"],
            "iat": now, "nbf": now, "exp": now + 300} | overrides


def signed(key: SigningKey, body: dict, alg: str = "Ed25519") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, body, key.key, algorithms=[alg])


def status(client: TestClient, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/enquiries", headers=headers).status_code


def test_a_valid_development_token_is_accepted(client: TestClient, workspace: DevWorkspace) -> None:
    """A token from the development issuer for a manager lists enquiries (200)."""
    token = DevIssuer.from_workspace(workspace.root).issue(subject="alice", roles=["mash_manager"])
    assert status(client, token) == 200


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    """No Authorization header, or another scheme, is 401 with WWW-Authenticate: Bearer."""
    response = client.get("/enquiries")
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/enquiries", headers={"Authorization": "Basic YWxpY2U6cHc="}).status_code == 401
    assert client.get("/healthz").status_code == 200 and client.get("/.well-known/jwks.json").status_code == 200


def test_alg_none_is_refused(client: TestClient) -> None:
    """An unsigned token (alg none) is refused whatever it claims."""
    assert status(client, f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.") == 401


def test_a_token_signed_by_another_key_is_refused(client: TestClient) -> None:
    """A well-formed token signed by a key the issuer's JWKS does not hold is refused."""
    assert status(client, signed(SigningKey.generate(), claims())) == 401


def test_a_forged_payload_under_a_real_signature_is_refused(client: TestClient, workspace: DevWorkspace) -> None:
    """Swapping the payload of a genuine token (e.g. to add a role) breaks its signature."""
    token = DevIssuer.from_workspace(workspace.root).issue(subject="bob", roles=["screening_officer"])
    header, _, signature = token.split(".")
    assert status(client, f"{header}.{b64(claims(sub='bob', roles=['mash_manager']))}.{signature}") == 401


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": int(time.time()) - 3600},
        {"aud": "another-service"},
        {"iss": "https://evil.example"},
        {"nbf": int(time.time()) + 3600},
        {"sub": None},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "not-yet-valid", "no-subject"],
)
def test_tokens_with_bad_claims_are_refused(client: TestClient, workspace: DevWorkspace, bad: dict) -> None:
    """Expired, not yet valid, another audience or issuer, or no subject: 401."""
    key = SigningKey.from_pem_file(workspace.issuer_key, None)
    body = {k: v for k, v in claims(**bad).items() if v is not None}
    assert status(client, signed(key, body)) == 401


def test_a_symmetric_algorithm_cannot_be_configured() -> None:
    """HS256 (a shared secret anyone holding the JWKS could misuse) and none are refused in settings."""
    with pytest.raises(ValueError, match="not allowed"):
        Settings(auth={"algorithms": ["HS256"]})
    with pytest.raises(ValueError, match="not allowed"):
        Settings(auth={"algorithms": ["none"]})


def test_unknown_roles_in_a_token_grant_nothing(client: TestClient, workspace: DevWorkspace) -> None:
    """A token whose roles are not ours (e.g. 'superuser') is authenticated but may do nothing."""
    key = SigningKey.from_pem_file(workspace.issuer_key, None)
    assert status(client, signed(key, claims(roles=["superuser", "root"]))) == 403
