"""The timeliness dashboard in a real browser against a real server (PostgreSQL, RabbitMQ,
partner adapters as processes): the charts render under the strict CSP, the figures match
the JSON report, the period form and the CSV download work, and an officer is refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from typing import Any

import httpx
import pytest

from broker.entrypoints.demo import scenario_enquiry
from tests.conftest import bearer
from tests.ui.conftest import Stack, shot, sign_in

pytestmark = pytest.mark.ui


def closed_enquiry(stack: Stack) -> dict[str, Any]:
    with httpx.Client(base_url=stack.base, headers=bearer(stack.workspace, "mash_manager")) as api:
        response = api.post("/enquiries", json=scenario_enquiry("all_sources_high_risk", brag="red"))
        assert response.status_code == 201, response.text
        stop = time.monotonic() + 60
        while True:
            body = api.get(response.headers["location"]).json()
            if body["state"] in ("complete", "partial"):
                return body  # type: ignore[no-any-return]
            assert time.monotonic() < stop, "the enquiry did not close"
            time.sleep(0.2)


def test_manager_reads_the_dashboard_changes_the_period_and_downloads_the_csv(
    stack: Stack, new_page: Any, request: pytest.FixtureRequest
) -> None:
    """After an enquiry the partners answered, the manager follows the Timeliness link: every chart
    is drawn (SVG with its bars), the partner table matches the JSON report, no CSP violation is
    reported; the period form narrows to a past period (no enquiries); the CSV downloads."""
    stack.start_adapters()
    closed_enquiry(stack)
    with httpx.Client(base_url=stack.base, headers=bearer(stack.workspace, "mash_manager")) as api:
        report = api.get("/reports/timeliness").json()

    page = new_page()
    sign_in(page, stack.base, "MASH manager", "mia.manager")
    page.get_by_role("link", name="Timeliness").click()
    page.wait_for_url("**/ui/timeliness")
    assert page.get_by_role("heading", level=1).inner_text() == "Timeliness and thresholds"
    charts = page.locator("svg.chart")
    assert charts.count() >= 5 + len(report["rating_vs_outcome"])
    first = page.get_by_role("img", name="Enquiries by state")
    assert first.is_visible()
    complete = first.locator("rect.bar[data-label=complete]")
    assert complete.get_attribute("data-value") == str(report["enquiries_by_state"]["complete"])
    assert complete.bounding_box()["width"] > 0  # type: ignore[index]
    for partner in report["partners"]:
        row = page.get_by_test_id("partners-table").locator("tr", has=page.locator(f"th:text-is('{partner['partner_id']}')"))
        assert row.locator("td").first.inner_text() == str(partner["asked"])
    shot(page, request, "dashboard")
    assert not [m for m in page.console if "Content Security Policy" in m], page.console

    page.get_by_label("Up to (not including)").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**/ui/timeliness?*end=2026-01-01*")
    assert "opened in the period: 0." in page.inner_text("main")

    page.get_by_label("Up to (not including)").fill("")
    page.get_by_label("From").fill(dt.date.today().isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/ui/timeliness?start={dt.date.today().isoformat()}*")
    with page.expect_download() as download_info:
        page.get_by_test_id("csv-export").click()
    download = download_info.value
    assert download.suggested_filename.startswith("timeliness-")
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0] == ["section", "subject", "measure", "breakdown", "value"]
    assert ["enquiries_by_state", "all", "enquiries", "", "1"] in rows


def test_screening_officer_is_refused_the_dashboard(stack: Stack, new_page: Any, request: pytest.FixtureRequest) -> None:
    """The nav shows the link to everyone, but an officer gets the 403 'Not allowed' page and no figures."""
    page = new_page()
    sign_in(page, stack.base, "Screening officer", "sam.officer")
    response = page.goto(f"{stack.base}/ui/timeliness")
    assert response is not None and response.status == 403
    assert "Not allowed" in page.inner_text("main")
    assert page.locator("svg.chart").count() == 0
    shot(page, request, "refused")
