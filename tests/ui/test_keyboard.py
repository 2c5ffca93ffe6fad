"""Keyboard only: the contact form can be reached, filled and submitted with Tab, typing and
Enter; every control has a label, focus follows the page order and is visibly marked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import Stack, shot, sign_in
from tests.ui.forms import REASON, REFERRER, scenario_child

pytestmark = pytest.mark.ui

ACTIVE = """() => {
  const e = document.activeElement;
  const style = getComputedStyle(e);
  return {id: e.id, tag: e.tagName.toLowerCase(), text: (e.innerText || '').trim(),
          outline: style.outlineStyle, outlineWidth: style.outlineWidth};
}"""

UNLABELLED = """() => Array.from(document.querySelectorAll('main input:not([type=hidden]), main select, main textarea'))
  .filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)"""


def test_contact_form_is_usable_with_the_keyboard_alone(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """From the top of the page: Tab reaches the skip link, Enter moves to the main content,
    and Tab then visits every field of the contact form in page order, each with a visible
    focus outline; typing fills them and Enter on the submit button records the contact."""
    page = new_page(locale="en-GB")
    sign_in(page, stack.base, "Screening officer", "olly.officer")
    page.goto(f"{stack.base}/ui/contacts/new")
    assert page.evaluate(UNLABELLED) == []

    page.keyboard.press("Tab")
    first = page.evaluate(ACTIVE)
    assert first["text"] == "Skip to main content" and first["outline"] != "none"
    page.keyboard.press("Enter")
    assert page.evaluate(ACTIVE)["id"] == "main"

    child = scenario_child("no_trace")
    values = {**REFERRER, "reason": REASON, "given_name": child["given_name"],
              "family_name": child["family_name"], "date_of_birth": child["date_of_birth"], "address": child["address"], "postcode": child["postcode"]}
    dom_order = page.evaluate(
        "() => Array.from(document.querySelectorAll('main form input:not([type=hidden]), main form select, "
        "main form textarea')).map(e => e.id)")
    visited: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        active = page.evaluate(ACTIVE)
        assert active["outline"] != "none", f"no visible focus on {active}"
        if active["tag"] == "button":
            assert active["text"] == "Record the contact"
            break
        if not visited or visited[-1] != active["id"]:
            visited.append(active["id"])
            if active["id"] in values:
                page.keyboard.type(values[active["id"]])
    else:
        pytest.fail(f"never reached the submit button; visited {visited}")
    assert visited == dom_order
    shot(page, request, "filled")

    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/contacts/*-*")
    assert page.get_by_role("heading", level=1).inner_text() == (
        f"Contact about {child['given_name']} {child['family_name']}"
    )
    assert REFERRER["referrer_name"] in page.get_by_test_id("referrer").inner_text()
