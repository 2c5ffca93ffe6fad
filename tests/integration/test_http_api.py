"""The HTTP API on the embedded default (SQLite file, in-process transport and adapters):
status codes, reasons, idempotency, listing, and what the manager sees of an enquiry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.demo import scenario_enquiry
from tests.conftest import bearer
from tests.integration.helpers import closed


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str) -> Iterator[TestClient]:
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05)
    with TestClient(create_app(settings), headers=bearer(workspace, "mash_manager")) as client:
        yield client


def test_open_enquiry_answers_201_with_location_and_completes(client: TestClient) -> None:
    """POST /enquiries answers 201 with a Location; the enquiry completes with a summary link."""
    response = client.post("/enquiries", json=scenario_enquiry("education_only"))
    assert response.status_code == 201
    location = response.headers["location"]
    assert location == f"/enquiries/{response.json()['enquiry_id']}"
    body = closed(client, location)
    assert body["completion"] == "all_replied"
    assert {p["partner_id"]: p["outcome"] for p in body["partners"]}["education"] == "findings"
    assert body["summaries"][0]["href"].startswith(location + "/summary")
    assert body["suggested_brag"] == "green"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"nhs_number": "9434765918"}, "subject S1: nhs_number: NHS number is invalid because its check digit is wrong"),
        ({"upn": "B801200005002"}, "subject S1: upn: UPN is invalid because its check letter is wrong"),
        ({"postcode": "XX 99"}, "not a UK postcode"),
        ({"role": "household_member"}, "exactly one child"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth is in the future"),
    ],
)
def test_invalid_subject_is_refused_with_a_reason(client: TestClient, change: dict, expected: str) -> None:
    """An invalid identifier or subject gets 422 naming the field and why; nothing is opened."""
    body = scenario_enquiry("no_trace", household=False)
    body["subjects"][0].update(change)
    response = client.post("/enquiries", json=body)
    assert response.status_code == 422
    assert expected in response.json()["detail"]
    assert client.get("/enquiries").json()["items"] == []


def test_schema_violations_are_422_and_malformed_json_is_400(client: TestClient) -> None:
    """Unknown fields, a naive consent time and a missing field are 422 with their location;
    a body that is not JSON is 400; submitted values are not echoed back."""
    body = scenario_enquiry("no_trace")
    body["subjects"][0]["favourite_colour"] = "green"
    response = client.post("/enquiries", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "subjects", 0, "favourite_colour"]
    naive = scenario_enquiry("no_trace")
    naive["consent"]["decided_at"] = "2026-11-01T10:00:00"
    assert client.post("/enquiries", json=naive).status_code == 422
    missing = scenario_enquiry("no_trace")
    del missing["brag"]
    assert client.post("/enquiries", json=missing).status_code == 422
    bad = client.post("/enquiries", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 400
    assert "Ormstead" not in bad.text and "Ullcombe" not in client.post("/enquiries", json=body).text


def test_gate_refusal_is_recorded_and_answered_with_its_reason(client: TestClient) -> None:
    """Refused consent without a lawful basis is recorded (state refused) with the reason."""
    body = scenario_enquiry("no_trace")
    body["consent"].update(status="refused", lawful_basis=None)
    response = client.post("/enquiries", json=body)
    assert response.status_code == 201
    refused = response.json()
    assert refused["state"] == "refused"
    assert "lawful_basis" in refused["refusal_reason"]
    assert refused["partners"] == [] and refused["gate_decisions"][0]["passed"] is False
    assert client.get(response.headers["location"] + "/summary").status_code == 404


def test_categories_narrow_what_each_partner_is_asked(client: TestClient) -> None:
    """Asking only for MARAC referrals asks police for that category alone; partners whose
    agreement allows none of the requested categories are not_asked, with the reason."""
    body = scenario_enquiry("all_sources_high_risk") | {"categories": ["police.marac"]}
    created = client.post("/enquiries", json=body).json()
    partners = {p["partner_id"]: p for p in created["partners"]}
    assert partners["police"]["categories"] == ["police.marac"]
    assert partners["health"]["outcome"] == "not_asked"
    assert "none of the requested data categories" in partners["health"]["reason"]
    done = closed(client, f"/enquiries/{created['enquiry_id']}")
    summary = client.get(f"/enquiries/{created['enquiry_id']}/summary").json()["payload"]
    police = next(p for p in summary["partners"] if p["partner_id"] == "police")
    assert {f["category"] for f in police["findings"]} == {"police.marac"}
    assert done["state"] == "complete"


def test_idempotency_key_replays_the_same_enquiry(client: TestClient) -> None:
    """The same Idempotency-Key opens one enquiry; the retry answers 200 with the same Location."""
    body = scenario_enquiry("no_trace")
    first = client.post("/enquiries", json=body, headers={"Idempotency-Key": "abc-1"})
    second = client.post("/enquiries", json=body, headers={"Idempotency-Key": "abc-1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.headers["location"] == second.headers["location"]
    assert len(client.get("/enquiries").json()["items"]) == 1


def test_list_filters_by_state_and_pages(client: TestClient) -> None:
    """GET /enquiries lists newest first, filters by state and pages with next_before."""
    for _ in range(3):
        client.post("/enquiries", json=scenario_enquiry("no_trace"))
    refused = scenario_enquiry("no_trace") | {"consent": None}
    client.post("/enquiries", json=refused)
    assert len(client.get("/enquiries", params={"state": "refused"}).json()["items"]) == 1
    page = client.get("/enquiries", params={"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_before"]
    rest = client.get("/enquiries", params={"limit": 2, "before": page["next_before"]}).json()
    assert len(rest["items"]) == 2
    assert not {i["enquiry_id"] for i in page["items"]} & {i["enquiry_id"] for i in rest["items"]}
    assert client.get("/enquiries", params={"state": "bogus"}).status_code == 422


def test_summary_is_served_as_jose_and_as_verified_json(client: TestClient) -> None:
    """The summary is a compact JWS (application/jose) whose kid is in the published JWKS."""
    created = client.post("/enquiries", json=scenario_enquiry("health_only")).json()
    location = f"/enquiries/{created['enquiry_id']}"
    closed(client, location)
    jose = client.get(f"{location}/summary", headers={"Accept": "application/jose"})
    assert jose.headers["content-type"].startswith("application/jose") and jose.text.count(".") == 2
    view = client.get(f"{location}/summary").json()
    assert view["verified"] is True and view["payload"]["enquiry_id"] == created["enquiry_id"]
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert view["kid"] in kids
    assert client.get(f"{location}/summary", params={"version": 9}).status_code == 404


def test_unknown_enquiry_is_404_and_probes_answer(client: TestClient) -> None:
    """Unknown ids are 404; /healthz and /readyz answer; the OpenAPI document is published."""
    assert client.get("/enquiries/nope").status_code == 404
    assert client.get("/enquiries/nope/summary").status_code == 404
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "transport": "ok"}
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/enquiries", "/enquiries/{enquiry_id}", "/enquiries/{enquiry_id}/summary"} <= set(paths)
