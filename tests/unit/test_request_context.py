"""The outermost HTTP layer (broker/entrypoints/api/request_context.py) and the JSON depth scan
that runs before any parsing: what every request gets, whatever the route does."""

from __future__ import annotations

import json
from typing import Any

import httpx
import structlog
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from broker.entrypoints.api.limits import json_depth_exceeds
from broker.entrypoints.api.request_context import RequestContext


async def _ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok", headers={"X-Request-Id": "forged-by-the-route"})


async def _lost_database(request: Request) -> PlainTextResponse:
    raise ConnectionError("the database went away")


async def _lost_mid_stream(request: Request) -> StreamingResponse:
    async def body() -> Any:
        yield b"first part"
        raise ConnectionError("the database went away")

    return StreamingResponse(body())


def _client() -> httpx.AsyncClient:
    # Where create_app puts it: inside Starlette's error middleware, outside the routes.
    app = Starlette(
        routes=[
            Route("/things/{thing_id}", _ok),
            Route("/lost", _lost_database),
            Route("/stream", _lost_mid_stream),
        ],
        middleware=[Middleware(RequestContext)],
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://t")


async def test_every_response_carries_its_own_request_id_and_one_access_line_without_the_path() -> None:
    """Each answer has a fresh X-Request-Id (a route cannot set its own); the log line names
    the route template, not the path, because paths carry enquiry ids."""
    with structlog.testing.capture_logs() as logs:
        async with _client() as client:
            first = await client.get("/things/ENQ-123")
            second = await client.get("/things/ENQ-456")
    ids = {first.headers["x-request-id"], second.headers["x-request-id"]}
    assert len(ids) == 2 and "forged-by-the-route" not in ids
    assert first.headers.get_list("x-request-id") == [first.headers["x-request-id"]]
    lines = [entry for entry in logs if entry["event"] == "http_request"]
    assert [(line["route"], line["status"]) for line in lines] == [("/things/{thing_id}", 200)] * 2
    assert "ENQ-123" not in json.dumps(lines, default=str)


async def test_a_dependency_lost_before_the_answer_is_503_with_retry_after() -> None:
    """A connection error before any byte was sent becomes 503 + Retry-After, logged as such."""
    with structlog.testing.capture_logs() as logs:
        async with _client() as client:
            response = await client.get("/lost")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.headers["x-request-id"]
    assert [e["status"] for e in logs if e["event"] == "http_request"] == [503]
    assert any(e["event"] == "dependency_unavailable" for e in logs)


async def test_a_dependency_lost_mid_answer_is_not_disguised_as_a_503() -> None:
    """Once the status line has gone, the error propagates (the server drops the
    connection) rather than a second, contradictory response being sent."""
    with structlog.testing.capture_logs() as logs:
        async with _client() as client:
            response = await client.get("/stream")
    assert (response.status_code, response.content) == (200, b"first part")  # cut short, not replaced
    assert not any(e["event"] == "dependency_unavailable" for e in logs)
    assert [e["status"] for e in logs if e["event"] == "http_request"] == [200]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="[]{}\"\\ab"),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(alphabet="[]{}\"a"), children, max_size=4),
    max_leaves=30,
)


@given(document=_JSON, limit=st.integers(min_value=0, max_value=8))
def test_depth_scan_agrees_with_the_parsed_document(document: Any, limit: int) -> None:
    """For any JSON document, brackets inside strings included, the scan (with its shortcut
    for bodies that open fewer brackets than the limit) says exactly whether it nests deeper."""
    body = json.dumps(document).encode()
    assert json_depth_exceeds(body, limit) == (_depth(document) > limit)
