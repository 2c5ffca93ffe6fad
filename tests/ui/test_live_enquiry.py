"""A manager opens an enquiry in the browser and watches the partners' outcomes arrive live
(server-sent events into the open page), then reads and downloads the signed summary."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import env_with, run
from tests.ui.conftest import ADAPTERS, Stack, shot, sign_in
from tests.ui.forms import fill_child, fill_consent_not_sought, scenario_child

pytestmark = pytest.mark.ui

README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "enquiry.png"


def row_status(page: Any, partner: str) -> str:
    return page.get_attribute(f"#partner-{partner}", "data-status")


def test_partners_outcomes_arrive_live_on_the_open_enquiry_page(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The enquiry page shows police, health and education pending while no adapter runs; once
    the adapter processes start, each row turns to `replied` with its BRAG in the same page
    (no navigation, no reload); the summary link appears, the summary page says the signature
    verifies, and the downloaded JWS verifies with `mash-broker verify`, partner replies too."""
    page = new_page()
    sign_in(page, stack.base, "MASH manager", "mia.manager")
    page.get_by_role("link", name="New enquiry").click()
    child = scenario_child("all_sources_high_risk")
    fill_child(page, child)
    page.get_by_role("radio", name="red").check()
    fill_consent_not_sought(page)
    page.get_by_role("button", name="Open the enquiry").click()
    page.wait_for_url("**/ui/enquiries/*")
    assert page.get_by_role("heading", level=1).inner_text() == (
        f"Enquiry about {child['given_name']} {child['family_name']}"
    )
    assert page.get_by_test_id("consent-status").inner_text() == "not sought"

    for partner in ADAPTERS:
        assert row_status(page, partner) == "pending"
    assert row_status(page, "housing") == "not_asked" and row_status(page, "probation") == "not_asked"
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("() => { window.__samePage = 'still here'; }")
    shot(page, request, "pending")

    stack.start_adapters()
    for partner in ADAPTERS:
        page.wait_for_selector(f"#partner-{partner}[data-status=replied]", timeout=60_000)
        assert page.inner_text(f"#partner-{partner} .brag") == "RED"
    page.get_by_test_id("summary-ready").wait_for(timeout=30_000)
    assert page.get_by_test_id("enquiry-state").inner_text() == "COMPLETE"
    assert page.get_by_test_id("suggested-brag").inner_text() == "RED"
    assert navigations == [] and page.evaluate("() => window.__samePage") == "still here"
    path = shot(page, request, "live")
    if os.environ.get("MASH_UI_README_SCREENSHOT"):
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOT)

    page.get_by_role("link", name="read summary version 1").click()
    assert page.get_by_test_id("verification").inner_text().startswith("Signature verified")
    for partner in ADAPTERS:
        assert page.get_by_test_id(f"reply-check-{partner}").inner_text().startswith(
            "The partner's own signed reply verifies")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the signed summary (JWS)").click()
    token = tmp_path / "summary.jws"
    download_info.value.save_as(token)
    verified = run(
        ["mash-broker", "verify", str(token), "--jwks", f"{stack.base}/.well-known/jwks.json",
         "--agreements", str(stack.workspace.agreements_dir)],
        env_with(),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert '"partner_replies"' in verified.stdout and verified.stdout.count('"verified"') >= 3
    assert not [m for m in page.console if "Content Security Policy" in m], page.console
