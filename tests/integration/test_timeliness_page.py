"""The timeliness dashboard page (/ui/timeliness) and its CSV download, on the embedded
broker with enquiries opened through it: inline SVG charts under the strict CSP, the same
figures in tables, and who may see it."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from broker.adapters.auth import DevIssuer
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.demo import scenario_enquiry
from broker.entrypoints.web.security import SESSION_COOKIE
from tests.conftest import bearer

SVG = re.compile(r"<svg .*?</svg>", re.S)


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, sqlite_url: str) -> Iterator[TestClient]:
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05)
    with TestClient(create_app(settings), headers=bearer(workspace, "mash_manager"), follow_redirects=False) as client:
        yield client


def signed_in(client: TestClient, workspace: DevWorkspace, *roles: str, sub: str = "page.reader") -> TestClient:
    token = DevIssuer.from_workspace(workspace.root).issue(subject=sub, roles=roles)
    client.cookies.set(SESSION_COOKIE, token, path="/ui")
    return client


def open_closed_enquiry(client: TestClient) -> None:
    response = client.post("/enquiries", json=scenario_enquiry("education_only", brag="green"))
    assert response.status_code == 201
    stop = time.monotonic() + 30
    while client.get(response.headers["location"]).json()["state"] not in ("complete", "partial"):
        assert time.monotonic() < stop, "the enquiry did not close"
        time.sleep(0.05)


def test_manager_sees_charts_and_tables_under_a_strict_csp(client: TestClient, workspace: DevWorkspace) -> None:
    """The page inlines every chart as well-formed accessible SVG, shows the partner table with the
    report's numbers, links the CSV for the same period, and has no inline style or script."""
    open_closed_enquiry(client)
    report = client.get("/reports/timeliness").json()
    page = signed_in(client, workspace, "mash_manager").get("/ui/timeliness", params={"start": "2026-01-01"})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "style-src 'self'" in csp and "script-src 'self'" in csp
    html = page.text
    assert " style=" not in html and "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    charts = [ET.fromstring(svg) for svg in SVG.findall(html)]
    assert len(charts) >= 5 + len(report["rating_vs_outcome"])
    assert all(c.get("role") == "img" and c.get("aria-label") for c in charts)
    assert len({c.get("id") for c in charts}) == len(charts)  # ids unique within the page
    education = next(p for p in report["partners"] if p["partner_id"] == "education")
    assert re.search(rf"<th scope=\"row\">education</th><td>{education['asked']}</td><td>{education['replied_on_time']}</td>", html)
    assert 'href="/ui/timeliness.csv?start=2026-01-01"' in html


def test_csv_download_from_the_page_is_an_attachment(client: TestClient, workspace: DevWorkspace) -> None:
    """The page's CSV link answers text/csv as an attachment with the header row."""
    open_closed_enquiry(client)
    response = signed_in(client, workspace, "auditor").get("/ui/timeliness.csv", params={"start": "2026-01-01"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="timeliness-20260101')
    assert response.text.splitlines()[0] == "section,subject,measure,breakdown,value"
    assert "enquiries_by_state,complete,enquiries,,1" in response.text.splitlines()


def test_screening_officer_gets_a_403_page_and_strangers_are_sent_to_sign_in(
    client: TestClient, workspace: DevWorkspace
) -> None:
    """A screening officer is refused (403 page, also for the CSV); without a session the page redirects to sign-in."""
    fresh = client.get("/ui/timeliness", headers={"Authorization": ""})
    assert fresh.status_code == 303 and fresh.headers["location"].startswith("/ui/sign-in")
    officer = signed_in(client, workspace, "screening_officer")
    assert officer.get("/ui/timeliness").status_code == 403
    assert officer.get("/ui/timeliness.csv").status_code == 403


def test_an_invalid_period_is_a_422_page_with_the_reason(client: TestClient, workspace: DevWorkspace) -> None:
    """An end before the start shows the reason instead of an empty dashboard."""
    page = signed_in(client, workspace, "mash_manager").get("/ui/timeliness", params={"start": "2026-11-02", "end": "2026-11-01"})
    assert page.status_code == 422
    assert "ends before it starts" in page.text
