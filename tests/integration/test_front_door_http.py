"""The front door over HTTP (SQLite file, in-process transport and adapters): the whole flow
from contact to signed decision and referrer feedback, routing to an allocated worker, and the
status codes and reasons for what is refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.sdk.signing import key_set, verify
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.service.front_door import DECISION_JWS_TYP
from tests.conftest import bearer
from tests.integration.helpers import closed
from tests.integration.front_door_helpers import KAI, REFERRER_NAME, contact_body

SOS = {"worries": "Bruising; inconsistent account.", "working_well": "Attends school.",
       "needs_to_happen": "Multi-agency checks.", "scale": 3}
CONSENT = {"status": "given", "decided_by": "test.officer", "decided_at": "2026-11-20T10:00:00Z",
           "given_by": "mother", "family_informed": "yes"}


@pytest.fixture(name="headers")
def _headers(workspace: DevWorkspace) -> dict[str, dict[str, str]]:
    return {
        "officer": bearer(workspace, "screening_officer", sub="test.officer"),
        "manager": bearer(workspace, "mash_manager", sub="test.manager"),
        "auditor": bearer(workspace, "auditor", sub="test.auditor"),
        "service": bearer(workspace, "service:early-help", sub="svc.early-help"),
        "worker": bearer(workspace, "social_worker", sub="sw.amara.okafor"),
    }


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str) -> Iterator[TestClient]:
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05)
    with TestClient(create_app(settings)) as client:
        yield client


def new_contact(client: TestClient, headers: dict[str, dict[str, str]], **changes: Any) -> str:
    response = client.post("/contacts", json=contact_body(**changes), headers=headers["officer"])
    assert response.status_code == 201, response.text
    return str(response.json()["contact_id"])


def test_contact_to_signed_decision_and_referrer_feedback(client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    """Officer records and proposes, manager sanctions, opens the enquiry (consent re-checked),
    decides on the summary; the decision verifies with the published JWKS and the referrer's
    feedback holds the outcome only."""
    response = client.post("/contacts", json=contact_body(), headers=headers["officer"])
    assert response.status_code == 201
    contact_id = response.json()["contact_id"]
    assert response.headers["location"] == f"/contacts/{contact_id}"
    assert response.json()["state"] == "received" and response.json()["referrer"]["name"] == REFERRER_NAME

    proposed = client.post(f"/contacts/{contact_id}/proposal", json={"brag": "amber", "signs_of_safety": SOS},
                           headers=headers["officer"])
    assert proposed.status_code == 200 and proposed.json()["state"] == "awaiting_sanction"
    assert client.post(f"/contacts/{contact_id}/sanction", json={}, headers=headers["officer"]).status_code == 403
    sanctioned = client.post(f"/contacts/{contact_id}/sanction", json={}, headers=headers["manager"]).json()
    assert sanctioned["state"] == "screened" and sanctioned["brag"] == "amber"
    assert sanctioned["due"]["basis"] == "working_hours"

    rerated = client.post(f"/contacts/{contact_id}/rerating",
                          json={"to": "red", "reason": "Sibling disclosed an assault.", "expected_from": "amber"},
                          headers=headers["manager"]).json()
    assert rerated["brag"] == "red" and rerated["due"]["basis"] == "out_of_hours"
    assert rerated["reratings"][0]["reason"] == "Sibling disclosed an assault."

    listed = client.get("/contacts", headers=headers["manager"]).json()["items"]
    assert [(i["contact_id"], i["state"], i["brag"]) for i in listed] == [(contact_id, "screened", "red")]
    assert listed[0]["due_at"] == rerated["due"]["at"] and listed[0]["overdue"] is False
    assert listed[0]["child"] == {"given_name": "Ruby", "family_name": "Ormstead", "date_of_birth": "2018-06-06"}
    assert client.get("/contacts", headers=headers["auditor"]).json()["items"][0]["child"] is None

    opened = client.post(f"/contacts/{contact_id}/enquiry", json={"consent": CONSENT}, headers=headers["manager"])
    assert opened.status_code == 201, opened.text
    enquiry = opened.json()
    assert enquiry["enquiry_state"] == "dispatched" and enquiry["consent_passed"] is True
    assert opened.headers["location"] == enquiry["href"] == f"/enquiries/{enquiry['enquiry_id']}"
    closed(client, enquiry["href"], headers=headers["manager"])
    decided = client.post(f"/contacts/{contact_id}/decision",
                          json={"outcome": "section_47_strategy_discussion",
                                "rationale": "Police and health findings: strategy discussion today."},
                          headers=headers["manager"])
    assert decided.status_code == 201, decided.text
    assert decided.headers["location"] == f"/contacts/{contact_id}/decision"
    decision = decided.json()
    assert decision["verified"] is True and decision["problems"] == []
    assert decision["enquiry_id"] == enquiry["enquiry_id"] and decision["summary_sha256"]

    jws = client.get(f"/contacts/{contact_id}/decision", headers={**headers["auditor"], "Accept": "application/jose"})
    assert jws.headers["content-type"].startswith("application/jose")
    jwks = client.get("/.well-known/jwks.json").json()
    payload = verify(jws.text, key_set(jwks["keys"]), typ=DECISION_JWS_TYP)
    assert payload["decision_id"] == decision["decision_id"] and payload["outcome"] == decision["outcome"]

    feedback = client.get(f"/contacts/{contact_id}/feedback", headers=headers["officer"])
    assert feedback.status_code == 200
    body = feedback.json()
    assert body["outcome"] == decision["outcome"] and body["given_at"] is None and body["due_at"]
    for secret in (REFERRER_NAME, "Ruby", decision["rationale"], "MARAC", "DASH"):
        assert secret not in feedback.text
    given = client.post(f"/contacts/{contact_id}/feedback/given", json={"method": "phone"}, headers=headers["officer"])
    assert given.status_code == 200 and given.json()["method"] == "phone"
    assert client.post(f"/contacts/{contact_id}/feedback/given", json={"method": "phone"},
                       headers=headers["officer"]).status_code == 409
    final = client.get(f"/contacts/{contact_id}", headers=headers["manager"]).json()
    assert final["state"] == "decided" and final["enquiry_id"] == enquiry["enquiry_id"]
    assert [c["passed"] for c in final["consent_checks"]] == [True]


def test_allocated_child_is_routed_and_the_worker_is_notified(client: TestClient,
                                                              headers: dict[str, dict[str, str]]) -> None:
    """Kai has an allocated worker: the contact is routed, the worker sees the notification and
    the contact; a manager cannot open an enquiry from it (409)."""
    response = client.post("/contacts", json=contact_body(subjects=[KAI]), headers=headers["officer"])
    assert response.status_code == 201
    contact = response.json()
    assert contact["state"] == "routed_to_allocated_worker"
    assert contact["allocated_worker"]["worker_id"] == "sw.amara.okafor"
    notes = client.get("/notifications", headers=headers["worker"]).json()
    assert [(n["contact_id"], n["kind"]) for n in notes] == [(contact["contact_id"], "contact_routed")]
    assert client.get("/notifications?undelivered=true", headers=headers["worker"]).json() == []
    seen = client.get(f"/contacts/{contact['contact_id']}", headers=headers["worker"])
    assert seen.status_code == 200 and seen.json()["referrer"]["name"] == REFERRER_NAME
    refused = client.post(f"/contacts/{contact['contact_id']}/enquiry", json={"consent": CONSENT},
                          headers=headers["manager"])
    assert refused.status_code == 409 and "allocated social worker" in refused.json()["detail"]
    assert client.get("/enquiries", headers=headers["manager"]).json()["items"] == []


def test_refusals_have_clear_status_codes_and_reasons(client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    """422 for invalid input (naming the field), 409 when the state machine refuses, 403 for
    the wrong role, 404 for contacts the caller may not see or that do not exist."""
    contact_id = new_contact(client, headers)
    bad_scale = client.post(f"/contacts/{contact_id}/proposal",
                            json={"brag": "red", "signs_of_safety": {**SOS, "scale": 11}}, headers=headers["officer"])
    assert bad_scale.status_code == 422 and bad_scale.json()["detail"][0]["loc"][-1] == "scale"
    text_scale = client.post(f"/contacts/{contact_id}/proposal",
                             json={"brag": "red", "signs_of_safety": {**SOS, "scale": "3"}}, headers=headers["officer"])
    assert text_scale.status_code == 422
    blank = client.post(f"/contacts/{contact_id}/proposal",
                        json={"brag": "red", "signs_of_safety": {**SOS, "worries": "  "}}, headers=headers["officer"])
    assert blank.status_code == 422
    no_proposal = client.post(f"/contacts/{contact_id}/sanction", json={}, headers=headers["manager"])
    assert no_proposal.status_code == 409 and "no rating was proposed" in no_proposal.json()["detail"]
    screened = client.post(f"/contacts/{contact_id}/sanction",
                           json={"brag": "amber", "signs_of_safety": SOS}, headers=headers["manager"])
    assert screened.status_code == 200
    no_reason = client.post(f"/contacts/{contact_id}/rerating", json={"to": "red", "reason": "   "},
                            headers=headers["manager"])
    assert no_reason.status_code == 422
    missing = client.post(f"/contacts/{contact_id}/rerating", json={"to": "red"}, headers=headers["manager"])
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "reason"]
    same = client.post(f"/contacts/{contact_id}/rerating", json={"to": "amber", "reason": "no change"},
                       headers=headers["manager"])
    assert same.status_code == 422 and "must change the rating" in same.json()["detail"]
    not_blue = client.post(f"/contacts/{contact_id}/close", json={"advice": "Family Hub"}, headers=headers["manager"])
    assert not_blue.status_code == 409 and "only a blue contact" in not_blue.json()["detail"]
    assert client.post(f"/contacts/{contact_id}/decision", json={"outcome": "early_help", "rationale": "r"},
                       headers=headers["officer"]).status_code == 403
    assert client.post(f"/contacts/{contact_id}/decision", json={"outcome": "section_48", "rationale": "r"},
                       headers=headers["manager"]).status_code == 422
    assert client.get(f"/contacts/{contact_id}/decision", headers=headers["manager"]).status_code == 409
    assert client.get(f"/contacts/{contact_id}/feedback", headers=headers["manager"]).status_code == 409

    assert client.get("/contacts", headers=headers["service"]).status_code == 403
    for path in (f"/contacts/{contact_id}", f"/contacts/{contact_id}/feedback", f"/contacts/{contact_id}/decision"):
        hidden = client.get(path, headers=headers["service"])
        assert hidden.status_code == 404 and hidden.json() == {"detail": "no such contact"}
    absent = client.get("/contacts/00000000-0000-0000-0000-000000000000", headers=headers["manager"])
    assert absent.status_code == 404 and absent.json() == {"detail": "no such contact"}
    assert client.post("/contacts", json=contact_body(), headers=headers["service"]).status_code == 403
    audited = client.get(f"/contacts/{contact_id}", headers=headers["auditor"]).json()
    assert audited["referrer"] is None and REFERRER_NAME not in str(audited)


def test_contact_input_is_validated_with_reasons(client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    """A referrer with no way to reach them, an unknown field, no child, a received time in the
    future or without a zone: each 422 with the reason; nothing is recorded."""
    body = contact_body()
    del body["referrer"]["phone"]
    unreachable = client.post("/contacts", json=body, headers=headers["officer"])
    assert unreachable.status_code == 422 and "phone number or an email" in unreachable.json()["detail"]
    extra = client.post("/contacts", json=contact_body(colour="green"), headers=headers["officer"])
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"] == ["body", "colour"]
    adults = contact_body()
    adults["subjects"] = [s for s in adults["subjects"] if s["role"] != "child"]
    no_child = client.post("/contacts", json=adults, headers=headers["officer"])
    assert no_child.status_code == 422 and "exactly one child" in no_child.json()["detail"]
    future = client.post("/contacts", json=contact_body(received_at="2999-01-01T09:00:00Z"), headers=headers["officer"])
    assert future.status_code == 422 and "future" in future.json()["detail"]
    naive = client.post("/contacts", json=contact_body(received_at="2026-11-20T09:00:00"), headers=headers["officer"])
    assert naive.status_code == 422
    assert client.get("/contacts", headers=headers["manager"]).json()["items"] == []


def test_blue_contact_closes_with_advice_over_http(client: TestClient, headers: dict[str, dict[str, str]]) -> None:
    """A manager screens blue and closes it with advice: state closed_universal, a verified
    signed decision, and feedback due for the referrer."""
    contact_id = new_contact(client, headers)
    screened = client.post(f"/contacts/{contact_id}/sanction", json={"brag": "blue", "signs_of_safety": SOS},
                           headers=headers["manager"]).json()
    assert screened["due"] is None
    assert client.post(f"/contacts/{contact_id}/enquiry", json={"consent": CONSENT},
                       headers=headers["manager"]).status_code == 409
    closed_contact = client.post(f"/contacts/{contact_id}/close", json={"advice": "Signposted to the Family Hub."},
                                 headers=headers["manager"]).json()
    assert closed_contact["state"] == "closed_universal"
    assert closed_contact["universal_advice"] == "Signposted to the Family Hub."
    decision = client.get(f"/contacts/{contact_id}/decision", headers=headers["manager"]).json()
    assert decision["outcome"] == "universal_services_advice" and decision["verified"] is True
    assert client.get(f"/contacts/{contact_id}/feedback", headers=headers["officer"]).json()["outcome"] == (
        "universal_services_advice")


def test_no_decision_on_an_enquiry_before_its_summary(workspace: DevWorkspace, sqlite_url: str,
                                                     headers: dict[str, dict[str, str]]) -> None:
    """With no partner answering, the enquiry stays dispatched: deciding on it is refused (409)
    until the signed summary exists, and the contact stays enquiry_opened."""
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05, embedded_adapters=[])
    with TestClient(create_app(settings)) as client:
        contact_id = new_contact(client, headers)
        client.post(f"/contacts/{contact_id}/sanction", json={"brag": "green", "signs_of_safety": SOS},
                    headers=headers["manager"])
        opened = client.post(f"/contacts/{contact_id}/enquiry", json={"consent": CONSENT}, headers=headers["manager"])
        assert opened.json()["enquiry_state"] == "dispatched"
        early = client.post(f"/contacts/{contact_id}/decision", json={"outcome": "early_help", "rationale": "r"},
                            headers=headers["manager"])
        assert early.status_code == 409 and "no signed summary yet" in early.json()["detail"]
        assert client.get(f"/contacts/{contact_id}", headers=headers["manager"]).json()["state"] == "enquiry_opened"


def test_authorization_matrix_of_the_front_door(client: TestClient, workspace: DevWorkspace,
                                                headers: dict[str, dict[str, str]]) -> None:
    """Each role against each front-door endpoint: officers record, propose and read; only
    managers sanction, re-rate, close, open enquiries and decide; auditors read without the
    referrer; admins, receiving services and unallocated workers see nothing (403 for actions,
    404 for records); every denial carries no data."""
    everyone = {**headers, "admin": bearer(workspace, "admin", sub="test.admin")}
    contact_id = new_contact(client, headers)
    client.post(f"/contacts/{contact_id}/sanction", json={"brag": "green", "signs_of_safety": SOS},
                headers=headers["manager"])
    client.post(f"/contacts/{contact_id}/decision", json={"outcome": "no_further_action", "rationale": "r"},
                headers=headers["manager"])
    other = new_contact(client, headers)
    read = {
        "GET /contacts": ("/contacts", {"officer": 200, "manager": 200, "auditor": 200, "admin": 403,
                                       "service": 403, "worker": 403}),
        "GET contact": (f"/contacts/{contact_id}", {"officer": 200, "manager": 200, "auditor": 200,
                                                    "admin": 404, "service": 404, "worker": 404}),
        "GET decision": (f"/contacts/{contact_id}/decision", {"officer": 200, "manager": 200, "auditor": 200,
                                                              "admin": 404, "service": 404, "worker": 404}),
        "GET feedback": (f"/contacts/{contact_id}/feedback", {"officer": 200, "manager": 200, "auditor": 200,
                                                              "admin": 404, "service": 404, "worker": 404}),
        "GET /notifications": ("/notifications", {"officer": 200, "manager": 200, "auditor": 200, "admin": 403,
                                                  "service": 403, "worker": 200}),
    }
    for name, (path, expected) in read.items():
        got = {who: client.get(path, headers=h).status_code for who, h in everyone.items()}
        assert got == expected, name
    manager_only = {
        "sanction": {"brag": "red", "reason": "r"},
        "rerating": {"to": "red", "reason": "r"},
        "close": {"advice": "a"},
        "enquiry": {"consent": CONSENT},
        "decision": {"outcome": "early_help", "rationale": "r"},
    }
    for step, body in manager_only.items():
        for who in ("officer", "auditor", "admin", "service", "worker"):
            denied = client.post(f"/contacts/{other}/{step}", json=body, headers=everyone[who])
            assert (step, who, denied.status_code, denied.json()) == (step, who, 403, {"detail": "forbidden"})
    for who in ("auditor", "admin", "service", "worker"):
        assert client.post(f"/contacts/{other}/proposal", json={"brag": "red", "signs_of_safety": SOS},
                           headers=everyone[who]).status_code == 403
        assert client.post("/contacts", json=contact_body(), headers=everyone[who]).status_code == 403
    assert client.post(f"/contacts/{contact_id}/feedback/given", json={"method": "email"},
                       headers=everyone["auditor"]).status_code == 403
    assert client.get(f"/contacts/{other}", headers=headers["auditor"]).json()["referrer"] is None
