"""The web UI's server side without a browser (TestClient on the embedded default): vendored
assets as pinned, the session only from a token the API's verifier accepts, cookie attributes,
development sign-in only with the development issuer, no open redirect after sign-in, the
event stream of a closed enquiry, and audited denials."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.sdk.signing import SigningKey
from broker.adapters.auth import DevIssuer
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.demo import scenario_enquiry
from broker.entrypoints.web.core import HERE
from broker.entrypoints.web.security import SESSION_COOKIE
from tests.conftest import bearer

STATIC = HERE / "static"


def settings_for(workspace: DevWorkspace, sqlite_url: str, **extra: object) -> Settings:
    return Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05, **extra)


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(workspace, sqlite_url)), base_url="http://127.0.0.1") as client:
        yield client


def sign_in(client: TestClient, role: str = "mash_manager", subject: str = "mia.manager") -> None:
    page = client.get("/ui/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    answer = client.post("/ui/sign-in", data={"csrf_token": token.group(1), "role": role, "subject": subject,
                                              "next": "/ui/enquiries"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_vendored_scripts_are_the_pinned_releases() -> None:
    """Each vendored file's SHA-256 is the one VENDORED.md records, and base.html loads exactly
    those files (no CDN, no other script)."""
    record = (STATIC / "VENDORED.md").read_text()
    pinned = dict(re.findall(r"^\| `([^`]+\.js)` \|[^|]+\|[^|]+\| `([0-9a-f]{64})` \|$", record, re.M))
    assert set(pinned) == {"htmx-2.0.11.min.js", "htmx-ext-sse-2.2.4.min.js"}
    for name, digest in pinned.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    base = (HERE / "templates" / "base.html").read_text()
    assert sorted(re.findall(r'<script src="([^"]+)"', base)) == sorted(f"/ui/static/{n}" for n in pinned)
    assert "http" not in " ".join(re.findall(r'(?:src|href)="([^"]+)"', base))


def test_root_redirects_to_the_ui_and_static_files_carry_the_headers(client: TestClient) -> None:
    """`/` goes to /ui/, which sends a signed-out browser to sign in; htmx is served from here
    with the CSP; the JSON API is where it was."""
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 307 and first.headers["location"] == "/ui/"
    second = client.get("/ui/", follow_redirects=False)
    assert second.status_code == 303 and second.headers["location"].startswith("/ui/sign-in")
    script = client.get("/ui/static/htmx-2.0.11.min.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "frame-ancestors 'none'" in script.headers["content-security-policy"]
    assert client.get("/enquiries").status_code == 401  # the API still wants a bearer token
    assert "content-security-policy" not in client.get("/healthz").headers


def test_session_cookie_is_httponly_strict_and_secure_off_loopback(
    workspace: DevWorkspace, sqlite_url: str
) -> None:
    """Signing in sets the token as an HttpOnly, SameSite=Strict cookie on /ui, Secure unless
    the browser is talking to a loopback address."""
    app = create_app(settings_for(workspace, sqlite_url))
    for base_url, secure in (("http://127.0.0.1", False), ("https://mash.quillsby.example", True)):
        with TestClient(app, base_url=base_url) as client:
            page = client.get("/ui/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            answer = client.post("/ui/sign-in", data={"csrf_token": token.group(1), "role": "mash_manager",
                                                      "subject": "mia.manager"}, follow_redirects=False)
            cookie = next(v for k, v in answer.headers.multi_items()
                          if k == "set-cookie" and v.startswith(SESSION_COOKIE))
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
            assert ("Secure" in cookie) is secure


def test_a_cookie_the_api_would_refuse_signs_nobody_in(client: TestClient, workspace: DevWorkspace) -> None:
    """The session is only ever a token the API's TokenVerifier accepts: a token signed by
    another key, for another audience, expired, or garbage sends the browser to sign in."""
    stranger = DevIssuer(SigningKey.generate())
    ours = DevIssuer.from_workspace(workspace.root)
    refused = {
        "other key": stranger.issue(subject="eve", roles=["mash_manager"]),
        "other audience": DevIssuer(SigningKey.from_pem_file(workspace.root / "keys" / "issuer.pem", None),
                                    audience="someone-else").issue(subject="eve", roles=["mash_manager"]),
        "expired": ours.issue(subject="eve", roles=["mash_manager"], ttl_s=60, now=time.time() - 3600),
        "garbage": "not-a-token",
    }
    for why, token in refused.items():
        client.cookies.set(SESSION_COOKIE, token, path="/ui")
        answer = client.get("/ui/enquiries", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in"), why
    client.cookies.set(SESSION_COOKIE, ours.issue(subject="mia", roles=["mash_manager"]), path="/ui")
    assert client.get("/ui/enquiries", follow_redirects=False).status_code == 200


def test_development_sign_in_needs_the_development_issuer(workspace: DevWorkspace, sqlite_url: str) -> None:
    """With another identity provider configured, the sign-in page offers no role picker and a
    POST to it is 404: the development issuer cannot mint sessions."""
    settings = settings_for(workspace, sqlite_url, auth={"issuer": "https://idp.quillsby.example",
                                                         "jwks": str(workspace.root / "keys" / "issuer.jwks.json")})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        page = client.get("/ui/sign-in")
        assert page.status_code == 200 and 'name="role"' not in page.text
        answer = client.post("/ui/sign-in", data={"role": "admin",
                                                  "subject": "eve"}, follow_redirects=False)
        assert answer.status_code == 404 and SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_sign_in_never_redirects_off_the_ui(client: TestClient) -> None:
    """`next` is followed only to a path inside /ui/ (no scheme, host or protocol-relative URL)."""
    for target in ("//evil.example/ui/", "https://evil.example/", "/ui/../docs", "/ui/%2e%2e/docs", "/\\evil.example"):
        page = client.get("/ui/sign-in", params={"next": target})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        answer = client.post("/ui/sign-in", data={"csrf_token": token.group(1), "role": "mash_manager",
                                                  "subject": "mia", "next": target}, follow_redirects=False)
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location == "/ui/", target
    page = client.get("/ui/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    inside = client.post("/ui/sign-in", data={"csrf_token": token.group(1), "role": "mash_manager",
                                              "subject": "mia", "next": "/ui/contacts?state=received"},
                         follow_redirects=False)
    assert inside.headers["location"] == "/ui/contacts?state=received"


def test_event_stream_sends_each_partner_row_then_closes(client: TestClient, workspace: DevWorkspace) -> None:
    """For an enquiry that has closed, the stream sends one `partner-<id>` event per partner with
    its row (status and BRAG), the `state` event, and `closed` with the summary link, then ends."""
    created = client.post("/enquiries", json=scenario_enquiry("all_sources_high_risk"),
                          headers=bearer(workspace, "mash_manager"))
    assert created.status_code == 201
    location = created.headers["location"]
    stop = time.monotonic() + 30
    while client.get(location, headers=bearer(workspace, "mash_manager")).json()["state"] != "complete":
        assert time.monotonic() < stop
        time.sleep(0.1)
    sign_in(client)
    stream = client.get(f"/ui{location}/events")
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    events = re.findall(r"^event: (\S+)$", stream.text, re.M)
    assert sorted(e for e in events if e.startswith("partner-")) == [
        "partner-education", "partner-health", "partner-housing", "partner-police", "partner-probation"]
    assert events[-2:] == ["state", "closed"]
    assert 'id="partner-police" sse-swap="partner-police" hx-swap="outerHTML" data-status="replied"' in stream.text
    assert "read summary version 1" in stream.text


def test_ui_denials_are_audited_like_the_apis(client: TestClient, workspace: DevWorkspace) -> None:
    """An officer asking for a manager's enquiry page gets 404 (as if it did not exist) and the
    audit log records the denial."""
    created = client.post("/enquiries", json=scenario_enquiry("no_trace"), headers=bearer(workspace, "mash_manager"))
    sign_in(client, role="screening_officer", subject="olly.officer")
    hidden = client.get(f"/ui{created.headers['location']}")
    assert hidden.status_code == 404 and "There is no such record" in hidden.text
    events = client.get("/audit", headers=bearer(workspace, "auditor")).json()["events"]
    denied = [e for e in events if e["action"] == "access.denied" or "denied" in e["action"]]
    assert any(e.get("actor") == "olly.officer" for e in denied), denied[-3:]


def test_a_child_with_an_allocated_worker_is_routed_and_offers_no_screening(client: TestClient) -> None:
    """A contact recorded in the UI about a child the case system shows as allocated goes to
    that worker: the page says so and offers no proposal, sanction or enquiry control."""
    sign_in(client, role="screening_officer", subject="olly.officer")
    page = client.get("/ui/contacts/new")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    child = scenario_enquiry("police_only", household=False)["subjects"][0]  # allocated in the sample source
    answer = client.post("/ui/contacts", follow_redirects=False, data={
        "csrf_token": token.group(1), "referrer_name": "Rita Referrer", "referrer_role": "Teacher",
        "referrer_organisation": "Quillsby Primary", "referrer_email": "rita@quillsby-primary.example",
        "reason": "Worried about bruising", **{k: child[k] for k in (
            "given_name", "family_name", "date_of_birth", "address", "postcode") if k in child},
    })
    assert answer.status_code == 303, answer.text
    contact = client.get(answer.headers["location"])
    assert 'data-state="routed_to_allocated_worker"' in contact.text
    assert 'data-testid="allocated"' in contact.text
    for control in ("Propose this rating", "/sanction", "/enquiry\"", "Record and sign the decision"):
        assert control not in contact.text, control


def test_navigation_offers_only_what_the_role_may_use(client: TestClient) -> None:
    """An auditor's navigation has no "New enquiry"; an officer's has no "Timeliness"."""
    sign_in(client, role="auditor", subject="ada.auditor")
    nav = client.get("/ui/enquiries").text.split("</nav>")[0]
    assert "/ui/contacts" in nav and "/ui/enquiries/new" not in nav and "/ui/timeliness" in nav
    sign_in(client, role="screening_officer", subject="olly.officer")
    nav = client.get("/ui/enquiries").text.split("</nav>")[0]
    assert "/ui/enquiries/new" in nav and "/ui/timeliness" not in nav
