"""A contact about a child with an allocated social worker, in the browser: an officer records
it, it is routed (no MASH enquiry), and the allocated worker finds it on "Routed to me", opens
it (the referrer shown to them), and acknowledges it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import Stack, assert_accessible_basics, shot, sign_in
from tests.ui.forms import REFERRER, fill_contact, scenario_child

pytestmark = pytest.mark.ui

KAI_WORKER = "sw.amara.okafor"  # adapters/synthetic/allocations.json


def test_allocated_worker_sees_opens_and_acknowledges_a_contact_routed_to_them(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """Officer records a contact about Kai Pellworth → routed to Amara Okafor → she signs in as
    an allocated social worker, "Routed to me" lists it unacknowledged, the contact page shows
    her the referrer, Acknowledge marks it acknowledged and the button goes; no CSP violation."""
    officer = new_page()
    sign_in(officer, stack.base, "Screening officer", "olly.officer")
    officer.get_by_role("link", name="Contacts").click()
    officer.get_by_role("link", name="Record a contact").click()
    child = scenario_child("police_only")
    assert (child["given_name"], child["family_name"]) == ("Kai", "Pellworth")
    fill_contact(officer, child)
    officer.get_by_role("button", name="Record the contact").click()
    officer.wait_for_url("**/ui/contacts/*")
    assert officer.get_by_test_id("contact-state").get_attribute("data-state") == "routed_to_allocated_worker"
    contact_id = officer.url.rsplit("/", 1)[1]
    assert officer.get_by_role("link", name="Routed to me").count() == 0

    worker = new_page()
    sign_in(worker, stack.base, "Allocated social worker", KAI_WORKER)
    worker.get_by_role("link", name="Routed to me").click()
    worker.wait_for_url("**/ui/notifications")
    assert_accessible_basics(worker)
    row = worker.locator(f"tr[data-contact='{contact_id}']")
    assert row.count() == 1
    assert row.get_attribute("data-acknowledged") == "false"
    assert "not acknowledged" in row.get_by_test_id("status").inner_text().lower()
    shot(worker, request, "routed-to-me")

    row.get_by_role("link", name=contact_id[:8]).click()
    worker.wait_for_url(f"**/ui/contacts/{contact_id}")
    assert worker.get_by_test_id("contact-state").get_attribute("data-state") == "routed_to_allocated_worker"
    assert REFERRER["referrer_name"] in worker.get_by_test_id("referrer").inner_text()
    shot(worker, request, "contact")

    worker.go_back()
    worker.wait_for_url("**/ui/notifications")
    worker.locator(f"tr[data-contact='{contact_id}']").get_by_role("button", name="Acknowledge").click()
    worker.get_by_test_id("acknowledged-notice").wait_for()
    row = worker.locator(f"tr[data-contact='{contact_id}']")
    assert row.get_attribute("data-acknowledged") == "true"
    status = row.get_by_test_id("status").inner_text().lower()
    assert "acknowledged" in status and "not acknowledged" not in status
    assert row.get_by_role("button", name="Acknowledge").count() == 0
    shot(worker, request, "acknowledged")
    violations = [m for m in officer.console + worker.console if "Content Security Policy" in m]
    assert violations == []
