"""The UI's edge protections, in a real browser against a real server: CSRF tokens bound to
the session, the Content-Security-Policy (no inline script runs, htmx still works), escaping,
and role rules enforced by the service layer whatever the browser sends."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import bearer
from tests.ui.conftest import Stack, shot, sign_in
from tests.ui.forms import fill_child, fill_consent_not_sought, scenario_child

pytestmark = pytest.mark.ui

REQUIRED_CSP = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'")


def enquiry_count(stack: Stack) -> int:
    with httpx.Client(base_url=stack.base, headers=bearer(stack.workspace, "mash_manager")) as api:
        return len(api.get("/enquiries").json()["items"])


def form_fields(child: dict[str, Any], **extra: str) -> dict[str, str]:
    fields = {k: str(v) for k, v in child.items() if k in (
        "given_name", "family_name", "date_of_birth", "address", "postcode", "nhs_number", "sex")}
    fields.update({"brag": "amber", "consent_status": "given", "given_by": "parent",
                   "family_informed": "yes", **extra})
    return fields


def test_form_posts_without_the_sessions_csrf_token_are_refused(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """With a valid session cookie, POST /ui/enquiries with no CSRF token, or with the token
    another signed-in browser was given, is refused with 403 and opens nothing; the same post
    with this page's own token opens the enquiry (so the refusals are about the token)."""
    page = new_page()
    sign_in(page, stack.base, "MASH manager", "mia.manager")
    other = new_page()
    sign_in(other, stack.base, "MASH manager", "max.manager")
    other.goto(f"{stack.base}/ui/enquiries/new")
    others_token = other.get_attribute("input[name=csrf_token]", "value")
    page.goto(f"{stack.base}/ui/enquiries/new")
    own_token = page.get_attribute("input[name=csrf_token]", "value")
    assert own_token and others_token and own_token != others_token
    fields = form_fields(scenario_child("no_trace"))

    missing = page.request.post(f"{stack.base}/ui/enquiries", form=fields, max_redirects=0)
    assert missing.status == 403 and "CSRF" in missing.text()
    foreign = page.request.post(f"{stack.base}/ui/enquiries", form={**fields, "csrf_token": others_token},
                                max_redirects=0)
    assert foreign.status == 403
    forged_header = page.request.post(f"{stack.base}/ui/enquiries", form=fields,
                                      headers={"X-CSRF-Token": "A" * 43}, max_redirects=0)
    assert forged_header.status == 403
    assert enquiry_count(stack) == 0

    accepted = page.request.post(f"{stack.base}/ui/enquiries", form={**fields, "csrf_token": own_token},
                                 max_redirects=0)
    assert accepted.status == 303 and re.match(r"^/ui/enquiries/[0-9a-f-]{36}$", accepted.headers["location"])
    assert enquiry_count(stack) == 1

    signed_out = new_page()  # no session at all: refused as well, and never reaches the use case
    signed_out.goto(f"{stack.base}/ui/sign-in")
    anonymous = signed_out.request.post(f"{stack.base}/ui/enquiries", form=fields, max_redirects=0)
    assert anonymous.status in (401, 403)
    assert enquiry_count(stack) == 1
    shot(page, request, "csrf")


def test_pages_carry_a_strict_csp_and_no_inline_script_runs(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """Every page answers with the strict CSP and hardening headers and has no inline script
    or style; a script element injected into the page is blocked by the browser (a CSP
    violation, and it does not run); markup typed into a form is shown as text."""
    page = new_page()
    sign_in(page, stack.base, "MASH manager", "mia.manager")
    for path in ("/ui/enquiries", "/ui/enquiries/new", "/ui/sign-in", "/ui/contacts", "/ui/timeliness"):
        response = page.goto(f"{stack.base}{path}")
        assert response is not None and response.status == 200, path
        headers = response.headers
        for directive in REQUIRED_CSP:
            assert directive in headers["content-security-policy"], (path, directive)
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"
        html = page.content()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), path

    outcome = page.evaluate(
        """() => new Promise(resolve => {
            document.addEventListener('securitypolicyviolation',
                e => resolve({directive: e.effectiveDirective, ran: window.__inline === 1}), {once: true});
            const s = document.createElement('script');
            s.textContent = 'window.__inline = 1';
            document.body.appendChild(s);
            setTimeout(() => resolve({directive: null, ran: window.__inline === 1}), 3000);
        })"""
    )
    assert outcome == {"directive": "script-src-elem", "ran": False}

    page.goto(f"{stack.base}/ui/enquiries/new")
    child = scenario_child("no_trace")
    markup = '<img src=x onerror="window.__xss=1">Ann'
    fill_child(page, {**child, "given_name": markup})
    page.get_by_role("button", name="Open the enquiry").click()
    page.wait_for_url("**/ui/enquiries/*")
    assert markup in page.get_by_role("heading", level=1).inner_text()
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("h1 img").count() == 0
    shot(page, request, "escaped")


def test_an_officer_cannot_do_a_managers_step_even_by_forging_the_post(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """A screening officer is offered only "consent given" (proceeding without consent is the
    manager's decision); a forged post with "not sought" and a valid CSRF token gets 403 from
    the service layer and opens nothing; a manager's enquiry is 404 to the officer."""
    officer = new_page()
    sign_in(officer, stack.base, "Screening officer", "olly.officer")
    officer.goto(f"{stack.base}/ui/enquiries/new")
    options = officer.locator("#consent_status option").all_inner_texts()
    assert options == ["Given"]
    token = officer.get_attribute("input[name=csrf_token]", "value")
    fields = form_fields(scenario_child("no_trace"), consent_status="not_sought",
                         lawful_basis="UK-GDPR-6(1)(e)", approved_by="someone", consent_reason="risk",
                         family_informed="deferred", family_informed_reason="risk", csrf_token=token or "")
    forged = officer.request.post(f"{stack.base}/ui/enquiries", form=fields, max_redirects=0)
    assert forged.status == 403 and "Not allowed" in forged.text()
    assert enquiry_count(stack) == 0

    manager = new_page()
    sign_in(manager, stack.base, "MASH manager", "mia.manager")
    manager.goto(f"{stack.base}/ui/enquiries/new")
    fill_child(manager, scenario_child("no_trace"))
    fill_consent_not_sought(manager)
    manager.get_by_role("button", name="Open the enquiry").click()
    manager.wait_for_url("**/ui/enquiries/*")
    hidden = officer.goto(manager.url)
    assert hidden is not None and hidden.status == 404
    assert "There is no such record" in officer.content()
    shot(officer, request, "officer-404")


def test_an_officer_proposes_but_cannot_sanction_and_a_forged_sanction_is_403(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """The officer's page offers "Propose this rating" and no sanction control; after proposing,
    still no sanction control (awaiting a manager). A forged sanction POST with the officer's
    valid CSRF token gets 403 and the contact stays awaiting sanction. The manager then sees the
    sanction form; changing the rating without a reason is refused with the reason, with one
    it is recorded as a re-rating."""
    from tests.ui.forms import fill_contact, fill_signs_of_safety

    officer = new_page()
    sign_in(officer, stack.base, "Screening officer", "olly.officer")
    officer.goto(f"{stack.base}/ui/contacts/new")
    fill_contact(officer, scenario_child("all_sources_high_risk"))
    officer.get_by_role("button", name="Record the contact").click()
    officer.wait_for_url("**/ui/contacts/*")
    contact_url = officer.url
    assert officer.get_by_role("button", name="Sanction it now (manager)").count() == 0
    officer.get_by_role("radio", name="amber").check()
    fill_signs_of_safety(officer, scale=4)
    officer.get_by_role("button", name="Propose this rating").click()
    assert officer.get_by_test_id("contact-state").get_attribute("data-state") == "awaiting_sanction"
    assert officer.get_by_test_id("proposed-brag").inner_text() == "AMBER"
    assert officer.get_by_role("button", name="Sanction").count() == 0
    assert officer.locator(f"form[action$='/sanction']").count() == 0
    assert officer.get_by_test_id("awaiting-sanction").is_visible()

    token = officer.get_attribute("input[name=csrf_token]", "value")
    forged = officer.request.post(f"{contact_url}/sanction", form={"brag": "amber", "csrf_token": token or ""},
                                  max_redirects=0)
    assert forged.status == 403 and "Not allowed" in forged.text()
    officer.reload()
    assert officer.get_by_test_id("contact-state").get_attribute("data-state") == "awaiting_sanction"
    shot(officer, request, "officer")

    manager = new_page()
    sign_in(manager, stack.base, "MASH manager", "mia.manager")
    manager.goto(contact_url)
    manager.get_by_role("radio", name="red").check()
    manager.get_by_role("button", name="Sanction", exact=True).click()
    assert "needs a reason" in " ".join(manager.get_by_test_id("error").all_inner_texts())
    assert manager.get_by_test_id("contact-state").get_attribute("data-state") == "awaiting_sanction"
    manager.get_by_role("radio", name="red").check()
    manager.fill("#sanction-reason", "A disclosure to the school today raises the risk")
    manager.get_by_role("button", name="Sanction", exact=True).click()
    assert manager.get_by_test_id("contact-state").get_attribute("data-state") == "screened"
    assert manager.get_by_test_id("contact-brag").inner_text() == "RED"
    assert "A disclosure to the school today" in manager.get_by_test_id("reratings").inner_text()
    shot(manager, request, "manager-rerated")
