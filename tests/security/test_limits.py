"""Resource limits: oversized and deeply nested bodies are refused before parsing, and one
principal cannot open enquiries faster than the configured rate."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.api.limits import RateLimiter, json_depth_exceeds
from broker.entrypoints.demo import scenario_enquiry
from tests.conftest import bearer

pytestmark = pytest.mark.security


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str) -> Iterator[TestClient]:
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url,
                        open_rate_per_minute=6, open_rate_burst=3)
    with TestClient(create_app(settings), headers=bearer(workspace, "mash_manager")) as client:
        yield client


def test_an_oversized_body_is_413_declared_or_streamed(client: TestClient) -> None:
    """A body over the limit is refused with 413, whether Content-Length says so or not."""
    big = json.dumps(scenario_enquiry("no_trace") | {"padding": "x" * 400_000})
    assert client.post("/enquiries", content=big, headers={"content-type": "application/json"}).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield big[:1000].encode()
        yield big[1000:].encode()

    assert client.post("/enquiries", content=chunks(), headers={"content-type": "application/json"}).status_code == 413


def test_deeply_nested_json_is_422_before_parsing(client: TestClient) -> None:
    """JSON nested beyond the limit is refused (422) and never reaches the parser."""
    nested = "[" * 5000 + "]" * 5000
    response = client.post("/enquiries", content=nested, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "nested" in response.json()["detail"]


def test_too_many_subjects_are_refused(client: TestClient) -> None:
    """More than 20 subjects in one enquiry is 422."""
    body = scenario_enquiry("no_trace")
    body["subjects"] = body["subjects"] + [dict(body["subjects"][-1], subject_ref=f"X{i}") for i in range(25)]
    assert client.post("/enquiries", json=body).status_code == 422


def test_opening_enquiries_is_rate_limited_per_principal(client: TestClient, workspace: DevWorkspace) -> None:
    """After the burst one principal gets 429 with Retry-After; another principal is unaffected."""
    codes = [client.post("/enquiries", json=scenario_enquiry("no_trace")).status_code for _ in range(4)]
    assert codes[:3] == [201, 201, 201] and codes[3] == 429
    refused = client.post("/enquiries", json=scenario_enquiry("no_trace"))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    other = bearer(workspace, "mash_manager", sub="another.manager")
    assert client.post("/enquiries", json=scenario_enquiry("no_trace"), headers=other).status_code == 201


def test_depth_scan_ignores_brackets_inside_strings() -> None:
    """Brackets in string values do not count towards nesting; escaped quotes are handled."""
    assert not json_depth_exceeds(json.dumps({"a": "[[[[[[[[[[\\\"[[[["}).encode(), 3)
    assert json_depth_exceeds(b'{"a": [[[[1]]]]}', 3)


def test_token_bucket_refills_over_time() -> None:
    """The bucket allows the burst, refuses, then allows again as time passes."""
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") >= 1
    now[0] += 1.0
    assert limiter.take("a") == 0.0
