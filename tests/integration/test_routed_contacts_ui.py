""""Routed to me" (issue 6 part 1) through the HTTP routes: a contact about a child with an
allocated social worker reaches that worker's page, only theirs; they acknowledge it (POST with
the CSRF token, audited, idempotent; also POST /notifications/{id}/acknowledge); nobody else may
acknowledge it; officers are refused the page; managers oversee every routed contact with
unacknowledged ones older than the configured time flagged."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from broker.adapters.db.front_door_tables import notifications
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from tests.conftest import bearer
from tests.integration.front_door_helpers import KAI, REFERRER_NAME, contact_body

KAI_WORKER = "sw.amara.okafor"
ISAAC_WORKER = "sw.dan.whitlock"
ISAAC = {"subject_ref": "S1", "role": "child", "given_name": "Isaac", "family_name": "Pellwick",
         "date_of_birth": "2018-10-14", "postcode": "QY2 2JQ"}


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str) -> Iterator[TestClient]:
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05,
                        front_door={"ack_alert_after_minutes": 60})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def sign_in(client: TestClient, role: str, subject: str) -> None:
    page = client.get("/ui/sign-in")
    assert f'value="{role}"' in page.text, f"the sign-in page does not offer {role}"
    answer = client.post("/ui/sign-in", data={"csrf_token": csrf_of(page.text), "role": role, "subject": subject,
                                              "next": "/ui/notifications"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def csrf_of(html: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, html
    return token.group(1)


def routed(client: TestClient, workspace: DevWorkspace, child: dict[str, Any]) -> tuple[str, str]:
    """An officer records a contact about `child` (allocated): (contact_id, notification_id)."""
    response = client.post("/contacts", json=contact_body(subjects=[child]),
                           headers=bearer(workspace, "screening_officer", sub="test.officer"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["state"] == "routed_to_allocated_worker"
    notes = client.get("/notifications", headers=bearer(workspace, "mash_manager")).json()
    return body["contact_id"], next(n["notification_id"] for n in notes if n["contact_id"] == body["contact_id"])


def rows(html: str) -> list[str]:
    """The notification ids of the page's table, in order."""
    return re.findall(r'<tr data-notification="([^"]+)"', html)


def acknowledgements(client: TestClient, workspace: DevWorkspace) -> list[dict[str, Any]]:
    events = client.get("/audit", headers=bearer(workspace, "auditor")).json()["events"]
    return [e for e in events if e["action"] == "notification.acknowledged"]


def test_worker_sees_only_their_own_routed_contacts_unacknowledged_first(
    client: TestClient, workspace: DevWorkspace
) -> None:
    """Kai's worker sees the two contacts about Kai (not Isaac's, routed to another worker),
    newest first, an acknowledged one after the unacknowledged; each links to the contact page,
    which shows the allocated worker the referrer."""
    older_contact, older = routed(client, workspace, KAI)
    newer_contact, newer = routed(client, workspace, KAI)
    _, isaacs = routed(client, workspace, ISAAC)
    sign_in(client, "social_worker", KAI_WORKER)
    page = client.get("/ui/notifications")
    assert page.status_code == 200 and "<h1>Routed to me</h1>" in page.text
    assert rows(page.text) == [newer, older] and isaacs not in page.text
    nav = page.text.split("</nav>")[0]
    assert 'href="/ui/notifications">Routed to me<' in nav and "/ui/contacts" not in nav
    client.post(f"/ui/notifications/{newer}/acknowledge", data={"csrf_token": csrf_of(page.text)})
    assert rows(client.get("/ui/notifications").text) == [older, newer]
    assert f'href="/ui/contacts/{older_contact}"' in page.text
    contact = client.get(f"/ui/contacts/{newer_contact}")
    assert contact.status_code == 200 and REFERRER_NAME in contact.text
    assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/notifications"


def test_acknowledging_is_recorded_once_audited_and_the_api_agrees(client: TestClient, workspace: DevWorkspace) -> None:
    """The worker's Acknowledge button marks it acknowledged (and delivered); pressing it again
    or acknowledging over the API changes nothing and adds no second audit entry."""
    _, note = routed(client, workspace, KAI)
    sign_in(client, "social_worker", KAI_WORKER)
    page = client.get("/ui/notifications")
    assert f'action="/ui/notifications/{note}/acknowledge"' in page.text
    done = client.post(f"/ui/notifications/{note}/acknowledge", data={"csrf_token": csrf_of(page.text)},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/ui/notifications?acknowledged={note}"
    after = client.get(done.headers["location"]).text
    assert f'action="/ui/notifications/{note}/acknowledge"' not in after and "acknowledged</span>" in after
    again = client.post(f"/ui/notifications/{note}/acknowledge", data={"csrf_token": csrf_of(after)},
                        follow_redirects=False)
    assert again.status_code == 303
    api = client.post(f"/notifications/{note}/acknowledge", headers=bearer(workspace, "social_worker", sub=KAI_WORKER))
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["replayed"] is True and body["acknowledged_by"] == KAI_WORKER and body["delivered_at"]
    ledger = acknowledgements(client, workspace)
    assert [(e["actor"], e["details"]["notification_id"]) for e in ledger] == [(KAI_WORKER, note)]


def test_acknowledging_someone_elses_notification_is_404(client: TestClient, workspace: DevWorkspace) -> None:
    """Isaac's worker cannot acknowledge the contact routed to Kai's worker, in the UI or over
    the API (404, as if it did not exist, audited); it stays unacknowledged."""
    _, note = routed(client, workspace, KAI)
    sign_in(client, "social_worker", ISAAC_WORKER)
    page = client.get("/ui/notifications")
    assert rows(page.text) == []
    refused = client.post(f"/ui/notifications/{note}/acknowledge", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 404 and "There is no such record" in refused.text
    api = client.post(f"/notifications/{note}/acknowledge",
                      headers=bearer(workspace, "social_worker", sub=ISAAC_WORKER))
    assert api.status_code == 404 and api.json() == {"detail": "no such notification"}
    missing = client.post("/notifications/no-such-id/acknowledge",
                          headers=bearer(workspace, "social_worker", sub=KAI_WORKER))
    assert missing.status_code == 404
    assert acknowledgements(client, workspace) == []
    events = client.get("/audit", headers=bearer(workspace, "auditor")).json()["events"]
    assert any(e["action"] == "access.denied" and e.get("actor") == ISAAC_WORKER for e in events)


def test_acknowledging_needs_the_csrf_token(client: TestClient, workspace: DevWorkspace) -> None:
    """A POST without the form's CSRF token, or with a forged one, is refused (403) and changes
    nothing."""
    _, note = routed(client, workspace, KAI)
    sign_in(client, "social_worker", KAI_WORKER)
    page = client.get("/ui/notifications")
    for data in ({}, {"csrf_token": "forged"}):
        refused = client.post(f"/ui/notifications/{note}/acknowledge", data=data)
        assert refused.status_code == 403 and "Form refused" in refused.text
    assert acknowledgements(client, workspace) == []
    assert f'action="/ui/notifications/{note}/acknowledge"' in client.get("/ui/notifications").text
    assert 'name="csrf_token"' in page.text.split(f"/ui/notifications/{note}/acknowledge")[1][:200]


def test_officer_is_refused_the_page_and_the_acknowledgement(client: TestClient, workspace: DevWorkspace) -> None:
    """A screening officer gets 403 for the page and for acknowledging (UI and API), and has no
    link to it."""
    _, note = routed(client, workspace, KAI)
    sign_in(client, "screening_officer", "olly.officer")
    assert client.get("/ui/notifications").status_code == 403
    contacts = client.get("/ui/contacts")
    assert "/ui/notifications" not in contacts.text.split("</nav>")[0]
    refused = client.post(f"/ui/notifications/{note}/acknowledge", data={"csrf_token": csrf_of(contacts.text)})
    assert refused.status_code == 403 and "Your role does not allow this action" in refused.text
    api = client.post(f"/notifications/{note}/acknowledge", headers=bearer(workspace, "screening_officer"))
    assert api.status_code == 403
    manager = client.post(f"/notifications/{note}/acknowledge", headers=bearer(workspace, "mash_manager"))
    assert manager.status_code == 403  # overseeing is not acknowledging
    assert acknowledgements(client, workspace) == []


def test_manager_sees_every_routed_contact_with_late_ones_flagged(
    client: TestClient, workspace: DevWorkspace, sqlite_url: str
) -> None:
    """A manager's page lists every worker's routed contacts with the recipient and status; one
    unacknowledged for longer than the configured 60 minutes is flagged late, a recent one and an
    acknowledged one are not; managers get no Acknowledge button."""
    _, stale = routed(client, workspace, KAI)
    _, fresh = routed(client, workspace, ISAAC)
    _, done = routed(client, workspace, KAI)
    engine = sa.create_engine(sqlite_url.replace("+aiosqlite", ""))
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    with engine.begin() as connection:  # routed two hours ago (the clock is real)
        connection.execute(sa.update(notifications).where(notifications.c.notification_id.in_([stale, done]))
                           .values(created_at=two_hours_ago))
    engine.dispose()
    assert client.post(f"/notifications/{done}/acknowledge",
                       headers=bearer(workspace, "social_worker", sub=KAI_WORKER)).status_code == 200
    sign_in(client, "mash_manager", "mia.manager")
    page = client.get("/ui/notifications").text
    assert rows(page) == [fresh, stale, done]
    cells = {note: page.split(f'<tr data-notification="{note}"')[1].split("</tr>")[0] for note in (stale, fresh, done)}
    assert KAI_WORKER in cells[stale] and ISAAC_WORKER in cells[fresh]
    assert 'data-testid="late"' in cells[stale]
    assert 'data-testid="late"' not in cells[fresh] and 'data-testid="late"' not in cells[done]
    assert "not acknowledged" in cells[fresh] and "acknowledged</span>" in cells[done]
    assert "/acknowledge" not in page
    assert 'href="/ui/notifications">Routed to workers<' in page.split("</nav>")[0]
