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


class _JwksServer:
    """A real HTTP server publishing a JWKS that a test can rotate, counting the fetches."""

    def __init__(self, key: SigningKey) -> None:
        import http.server
        import threading

        self.document = json.dumps({"keys": [key.public_jwk()]}).encode()
        self.fetches = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                outer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(outer.document)

            def log_message(self, *_: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def rotate(self, key: SigningKey) -> None:
        self.document = json.dumps({"keys": [key.public_jwk()]}).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _verifier(url: str, **kwargs: float):  # type: ignore[no-untyped-def]
    from broker.adapters.auth import TokenVerifier

    return TokenVerifier(jwks_source=url, issuer="mash-dev-issuer", audience="mash-broker",
                         algorithms=["Ed25519"], **kwargs)


def test_forged_tokens_cannot_make_the_broker_fetch_the_jwks_again_and_again() -> None:
    """A token that fails to verify may mean the provider rotated its keys, so the key set is
    fetched again, but at most once per interval: a stream of forged tokens costs one fetch,
    and a token under the rotated key verifies once the interval has passed."""
    first, second, forger = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    server = _JwksServer(first)
    try:
        verifier = _verifier(server.url, min_refresh_s=0.5)
        assert verifier.verify(f"Bearer {signed(first, claims())}").subject == "alice"
        assert server.fetches == 1
        for _ in range(20):
            with pytest.raises(Exception, match="token refused"):
                verifier.verify(f"Bearer {signed(forger, claims())}")
        assert server.fetches == 1
        server.rotate(second)
        time.sleep(0.6)
        assert verifier.verify(f"Bearer {signed(second, claims())}").subject == "alice"
        assert server.fetches == 2
    finally:
        server.close()


def test_verifying_without_fetching_says_when_the_keys_must_be_fetched_first() -> None:
    """The API verifies on its event loop with may_fetch=False: before any key set is held
    (or once it is stale) that raises KeysNeeded instead of blocking on the network; with
    the keys cached it verifies without a fetch."""
    from broker.adapters.auth import KeysNeeded

    key = SigningKey.generate()
    server = _JwksServer(key)
    try:
        verifier = _verifier(server.url, cache_s=0.3)
        token = f"Bearer {signed(key, claims())}"
        with pytest.raises(KeysNeeded):
            verifier.verify(token, may_fetch=False)
        assert server.fetches == 0
        verifier.verify(token)
        assert verifier.verify(token, may_fetch=False).subject == "alice"
        assert server.fetches == 1
        time.sleep(0.4)
        with pytest.raises(KeysNeeded):
            verifier.verify(token, may_fetch=False)
    finally:
        server.close()


async def test_verify_async_fetches_the_keys_off_the_event_loop_once_then_verifies_on_it() -> None:
    """What the API and the web UI call: the first token makes it fetch the key set in a
    worker thread (so the event loop keeps serving); later tokens verify on the loop's own
    thread without another fetch; a forged one is still refused."""
    import threading

    key, forger = SigningKey.generate(), SigningKey.generate()
    server = _JwksServer(key)
    try:
        verifier = _verifier(server.url)
        seen: list[tuple[bool, str]] = []  # (may_fetch, thread) of each verify
        original = verifier.verify

        def recording(authorization: str | None, *, may_fetch: bool = True):  # type: ignore[no-untyped-def]
            seen.append((may_fetch, threading.current_thread().name))
            return original(authorization, may_fetch=may_fetch)

        verifier.verify = recording  # type: ignore[method-assign]
        loop_thread = threading.current_thread().name
        assert (await verifier.verify_async(f"Bearer {signed(key, claims())}")).subject == "alice"
        assert [may_fetch for may_fetch, _ in seen] == [False, True]
        assert seen[1][1] != loop_thread  # the fetching verify ran in a worker thread
        seen.clear()
        assert (await verifier.verify_async(f"Bearer {signed(key, claims(sub='bob'))}")).subject == "bob"
        assert seen == [(False, loop_thread)] and server.fetches == 1
        with pytest.raises(Exception, match="token refused"):
            await verifier.verify_async(f"Bearer {signed(forger, claims())}")
    finally:
        server.close()
