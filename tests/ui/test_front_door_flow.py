"""The MASH front door in the browser, end to end: a manager records a contact, screens it,
opens the enquiry from it (consent checked again and recorded), watches the three partners
arrive live, records the signed decision, and the receiving service's own RabbitMQ queue gets
its view, which verifies and does not carry the referrer's identity."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.integration.delivery_helpers import assert_service_received_view
from tests.ui.conftest import ADAPTERS, Stack, assert_accessible_basics, shot, sign_in
from tests.ui.forms import (
    REFERRER,
    fill_consent_not_sought,
    fill_contact,
    fill_signs_of_safety,
    scenario_child,
)

pytestmark = pytest.mark.ui


def in_thread(coroutine: Any) -> Any:
    """Run a coroutine to completion off this thread (Playwright's sync API owns its loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def errors(page: Any) -> list[str]:
    return page.get_by_test_id("error").all_inner_texts()


def test_manager_takes_a_contact_from_receipt_to_a_signed_decision_delivered_downstream(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """Record → screen (red, Signs of Safety, due time shown) → open the enquiry with the
    consent record → police, health and education turn from pending to replied on the open
    page → s47 decision, signed and verified on the page → children's social care's queue gets
    a view that verifies and names no referrer detail."""
    page = new_page()
    sign_in(page, stack.base, "MASH manager", "mia.manager")
    page.get_by_role("link", name="Contacts").click()
    page.get_by_role("link", name="Record a contact").click()
    child = scenario_child("all_sources_high_risk")
    fill_contact(page, child)
    assert_accessible_basics(page)
    page.get_by_role("button", name="Record the contact").click()
    page.wait_for_url("**/ui/contacts/*")
    contact_url = page.url
    assert_accessible_basics(page)
    assert page.get_by_test_id("contact-state").get_attribute("data-state") == "received"
    assert REFERRER["referrer_name"] in page.get_by_test_id("referrer").inner_text()

    page.get_by_role("radio", name="red").check()
    fill_signs_of_safety(page)
    page.get_by_role("button", name="Sanction it now (manager)").click()
    assert errors(page) == []
    assert page.get_by_test_id("contact-state").get_attribute("data-state") == "screened"
    assert page.get_by_test_id("contact-brag").inner_text() == "RED"
    assert "UTC" in page.get_by_test_id("due").inner_text()
    assert_accessible_basics(page)
    shot(page, request, "screened")

    fill_consent_not_sought(page)
    page.get_by_role("button", name="Check consent and open the enquiry").click()
    page.wait_for_url("**/ui/enquiries/*")
    assert errors(page) == []
    for partner in ADAPTERS:
        assert page.get_attribute(f"#partner-{partner}", "data-status") == "pending"
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    stack.start_adapters()
    for partner in ADAPTERS:
        page.wait_for_selector(f"#partner-{partner}[data-status=replied]", timeout=60_000)
    page.get_by_test_id("to-decision").wait_for(timeout=30_000)
    assert navigations == []
    shot(page, request, "enquiry-live")

    page.get_by_test_id("to-decision").click()
    assert_accessible_basics(page)
    consent_checks = page.get_by_test_id("consent-checks").inner_text()
    assert "passed" in consent_checks and "not sought" in consent_checks
    page.get_by_label("Child protection: strategy discussion (Children Act 1989 s47)").check()
    page.fill("#rationale", "Police and health information together indicate likely significant harm.")
    page.get_by_role("button", name="Record and sign the decision").click()
    assert errors(page) == []
    assert page.url.startswith(contact_url)
    assert page.get_by_test_id("decision-verification").inner_text().startswith("Signed decision verified")
    assert page.get_by_test_id("decision-outcome").inner_text().startswith("Child protection")
    assert "child protection procedures" in page.get_by_test_id("feedback").inner_text()
    page.get_by_label("Told the referrer by").select_option("phone")
    page.get_by_role("button", name="Record that the referrer was told").click()
    assert errors(page) == []
    assert page.get_by_test_id("feedback-given").inner_text().startswith("Told by mia.manager (phone)")
    shot(page, request, "decided")

    jwks = httpx.get(f"{stack.base}/.well-known/jwks.json").json()
    referrer = (REFERRER["referrer_name"], REFERRER["referrer_email"], REFERRER["referrer_phone"])
    view = in_thread(assert_service_received_view(
        stack.amqp_url, "childrens-social-care", jwks, referrer=referrer, timeout=30.0))
    text = json.dumps(view)
    assert child["family_name"] in text  # it is the child's view...
    assert "Rita" not in text and "quillsby-primary.example" not in text  # ...without the referrer
