"""The authorization matrix: each role × each endpoint × own and someone else's enquiry.
Denials carry no data and never reveal whether an enquiry exists."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.demo import scenario_enquiry
from tests.conftest import bearer

pytestmark = pytest.mark.security

ROLES = {
    "officer_a": ("screening_officer",),
    "officer_b": ("screening_officer",),
    "manager": ("mash_manager",),
    "auditor": ("auditor",),
    "admin": ("admin",),
    "service": ("service:early-help",),
}


@pytest.fixture(name="world", scope="module")
def _world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict, dict]]:
    from broker.adapters.db.migrate import upgrade
    from broker.adapters.dev_workspace import init_workspace

    root = tmp_path_factory.mktemp("authz")
    workspace = init_workspace(root / "dev")
    url = f"sqlite+aiosqlite:///{root / 'db.sqlite3'}"
    upgrade(url)
    headers = {name: bearer(workspace, *roles, sub=name) for name, roles in ROLES.items()}
    with TestClient(create_app(Settings(dev_dir=workspace.root, database_url=url, relay_poll_s=0.05))) as client:
        given = scenario_enquiry("no_trace")
        given["consent"].update(status="given", given_by="parent", approved_by=None, reason=None,
                                lawful_basis=None, family_informed="yes", family_informed_reason=None)
        owned = {}
        for name in ("officer_a", "officer_b"):
            response = client.post("/enquiries", json=given, headers=headers[name])
            assert response.status_code == 201, response.text
            owned[name] = response.json()["enquiry_id"]
        for enquiry_id in owned.values():  # wait for the summaries
            for _ in range(200):
                if client.get(f"/enquiries/{enquiry_id}", headers=headers["manager"]).json()["summaries"]:
                    break
                time.sleep(0.05)
        yield client, headers, owned


def test_who_may_open_an_enquiry(world: tuple[TestClient, dict, dict]) -> None:
    """Officers and managers open enquiries with consent given; only a manager may proceed
    without consent; auditors, admins and receiving services may not open any (403, no data)."""
    client, headers, _ = world
    without_consent = scenario_enquiry("no_trace")  # not_sought, with a reason and approver
    given = dict(without_consent, consent=dict(without_consent["consent"], status="given",
                 family_informed="yes"))
    expected = {"officer_a": (201, 403), "manager": (201, 201), "auditor": (403, 403),
                "admin": (403, 403), "service": (403, 403)}
    for who, (with_given, with_override) in expected.items():
        first = client.post("/enquiries", json=given, headers=headers[who])
        second = client.post("/enquiries", json=without_consent, headers=headers[who])
        assert (first.status_code, second.status_code) == (with_given, with_override), who
        for response in (first, second):
            if response.status_code == 403:
                assert response.json() == {"detail": "forbidden"}


@pytest.mark.parametrize("path", ["/enquiries/{id}", "/enquiries/{id}/summary"])
def test_who_may_read_whose_enquiry(world: tuple[TestClient, dict, dict], path: str) -> None:
    """An officer reads their own enquiry and summary but gets 404 for a colleague's; a
    manager reads all; an auditor reads the record but not the summary; others see nothing."""
    client, headers, owned = world
    record = path == "/enquiries/{id}"
    expected = {
        ("officer_a", "officer_a"): 200, ("officer_a", "officer_b"): 404,
        ("manager", "officer_a"): 200, ("manager", "officer_b"): 200,
        ("auditor", "officer_a"): 200 if record else 404,
        ("admin", "officer_a"): 404, ("service", "officer_a"): 404,
    }
    for (who, owner), code in expected.items():
        response = client.get(path.format(id=owned[owner]), headers=headers[who])
        assert response.status_code == code, (who, owner, path, response.text)
        if code == 404:
            assert response.json() == {"detail": "no such enquiry"}
    unknown = client.get(path.format(id="00000000-0000-4000-8000-000000000000"), headers=headers["officer_a"])
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no such enquiry"}


def test_who_may_list_what(world: tuple[TestClient, dict, dict]) -> None:
    """Listing: an officer sees only their own enquiries, managers and auditors all; admins
    and receiving services may not list (403)."""
    client, headers, owned = world
    def ids(who: str) -> set[str]:
        return {i["enquiry_id"] for i in client.get("/enquiries", headers=headers[who], params={"limit": 500}).json()["items"]}
    assert owned["officer_a"] in ids("officer_a") and owned["officer_b"] not in ids("officer_a")
    assert {owned["officer_a"], owned["officer_b"]} <= ids("manager") and ids("manager") == ids("auditor")
    for who in ("admin", "service"):
        assert client.get("/enquiries", headers=headers[who]).status_code == 403
