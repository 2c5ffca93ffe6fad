"""The timeliness and thresholds report over HTTP, on SQLite and PostgreSQL, with enquiries
really opened through the broker and answered by the embedded partner adapters: JSON, CSV
export (with its formula-injection guard), SVG charts, periods and who may read them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update

from broker.adapters.db import tables as t
from broker.adapters.db.engine import sync_url
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.demo import scenario_enquiry
from tests.conftest import bearer
from tests.integration.helpers import closed

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(name="db_url", params=["sqlite", "postgresql"])
def _db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture(name="client")
def _client(workspace: DevWorkspace, db_url: str) -> Iterator[TestClient]:
    settings = Settings(dev_dir=workspace.root, database_url=db_url, relay_poll_s=0.05)
    with TestClient(create_app(settings), headers=bearer(workspace, "mash_manager")) as client:
        yield client


def open_and_close(client: TestClient, scenario: str, brag: str = "amber") -> dict[str, Any]:
    response = client.post("/enquiries", json=scenario_enquiry(scenario, brag=brag))
    assert response.status_code == 201, response.text
    return closed(client, response.headers["location"])


def test_report_counts_enquiries_partners_and_partner_ratings(client: TestClient) -> None:
    """Two enquiries opened through the broker and answered by the partners show up as two
    complete enquiries, each asked partner's replies counted, and each partner's own BRAG
    (from its signed reply) in its rating distribution."""
    enquiries = [open_and_close(client, "education_only", "green"), open_and_close(client, "all_sources_high_risk", "red")]
    response = client.get("/reports/timeliness")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    report = response.json()
    assert report["enquiries_by_state"]["complete"] == 2
    assert report["enquiries_total"] == 2

    expected_asked: dict[str, int] = {}
    expected_ratings: dict[str, dict[str, int]] = {}
    for enquiry in enquiries:
        for partner in enquiry["partners"]:
            if partner["status"] == "not_asked":
                continue
            expected_asked[partner["partner_id"]] = expected_asked.get(partner["partner_id"], 0) + 1
            if partner["brag"]:
                ratings = expected_ratings.setdefault(partner["partner_id"], {})
                ratings[partner["brag"]] = ratings.get(partner["brag"], 0) + 1
    assert expected_ratings, "the scenarios should give at least one partner rating"
    partners = {p["partner_id"]: p for p in report["partners"]}
    for partner_id, asked in expected_asked.items():
        assert partners[partner_id]["asked"] == asked
        assert partners[partner_id]["replied"] == asked
        assert partners[partner_id]["overdue"] == 0
        assert partners[partner_id]["median_reply_hours"] is not None
    raters = {r["rater"]: r for r in report["rating_vs_outcome"]}
    for partner_id, ratings in expected_ratings.items():
        given = {brag: n for brag, n in raters[partner_id]["distribution"].items() if n}
        assert given == ratings
    assert raters["mash"]["distribution"] == {"blue": 0, "green": 1, "amber": 0, "red": 1}
    # No decisions recorded yet: nothing to compare, no percentage invented.
    assert all(r["compared"] == 0 and r["on_usual_route_pct"] is None for r in report["rating_vs_outcome"])
    assert report["time_to_decision"][-1] == {
        "brag": "all", "decided": 0, "met": 0, "missed": 0, "met_pct": None, "median_hours": None, "p90_hours": None,
    }


def test_period_filters_and_invalid_periods_are_refused(client: TestClient) -> None:
    """A period that ends before today's enquiries counts none of them; a period covering today
    counts them; an end before the start and a non-date are 422 with the reason."""
    open_and_close(client, "no_trace")
    today = dt.datetime.now(dt.UTC).date()
    before = client.get("/reports/timeliness", params={"end": today.isoformat()}).json()
    assert before["enquiries_total"] == 0
    assert before["period"] == {"start": None, "end": f"{today.isoformat()}T00:00:00+00:00"}
    covering = client.get(
        "/reports/timeliness",
        params={"start": today.isoformat(), "end": (today + dt.timedelta(days=1)).isoformat()},
    ).json()
    assert covering["enquiries_total"] == 1
    reversed_period = client.get("/reports/timeliness", params={"start": "2026-11-02", "end": "2026-11-01"})
    assert reversed_period.status_code == 422
    assert "ends before it starts" in reversed_period.json()["detail"]
    not_a_date = client.get("/reports/timeliness.csv", params={"start": "yesterday"})
    assert not_a_date.status_code == 422
    assert "start is not a date" in not_a_date.json()["detail"]


def test_csv_export_is_an_attachment_with_one_figure_a_row_and_no_formulas(
    client: TestClient, db_url: str
) -> None:
    """The CSV is text/csv, an attachment with a dated file name, has the header and a row per
    figure matching the JSON; a stored value that starts like a formula is exported quoted."""
    open_and_close(client, "education_only", "green")
    engine = create_engine(sync_url(db_url))
    with engine.begin() as c:  # a partner id that a spreadsheet would run as a formula
        c.execute(update(t.partner_requests).where(t.partner_requests.c.partner_id == "education")
                  .values(partner_id='=HYPERLINK("http://evil.example","x")'))
    engine.dispose()

    response = client.get("/reports/timeliness.csv", params={"start": "2026-01-01"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="timeliness-20260101T000000Z-now.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "subject", "measure", "breakdown", "value"]
    figures = {tuple(r[:4]): r[4] for r in rows[1:]}
    report = client.get("/reports/timeliness", params={"start": "2026-01-01"}).json()
    assert figures[("enquiries_by_state", "complete", "enquiries", "")] == str(report["enquiries_by_state"]["complete"])
    assert figures[("enquiries_by_state", "all", "enquiries", "")] == "1"
    hostile = '\'=HYPERLINK("http://evil.example","x")'
    assert figures[("partners", hostile, "asked", "")] == "1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_charts_are_svg_and_show_the_reported_numbers(client: TestClient) -> None:
    """Each chart is image/svg+xml with no inline style or script, and its bars carry the report's figures;
    an unknown chart is 404."""
    open_and_close(client, "education_only", "green")
    report = client.get("/reports/timeliness").json()
    response = client.get("/reports/timeliness/charts/enquiries-by-state.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(response.text)
    values = {b.get("data-label"): int(b.get("data-value", "-1")) for b in root.iter(f"{NS}rect") if "bar" in (b.get("class") or "")}
    assert values == report["enquiries_by_state"]

    partners = ET.fromstring(client.get("/reports/timeliness/charts/overdue-partners.svg").text)
    on_time = {b.get("data-label"): int(b.get("data-value", "-1")) for b in partners.iter(f"{NS}rect")
               if b.get("data-series") == "on time"}
    assert on_time == {p["partner_id"]: p["replied_on_time"] for p in report["partners"] if p["replied_on_time"]}

    for name in ("time-to-decision", "hours-to-decision", "ratings-by-rater", "rating-vs-outcome-mash",
                 "rating-vs-outcome-education"):
        chart = client.get(f"/reports/timeliness/charts/{name}.svg")
        assert chart.status_code == 200, name
        svg = ET.fromstring(chart.text)
        assert svg.get("role") == "img"
        assert all("style" not in e.attrib for e in svg.iter())
        assert not list(svg.iter(f"{NS}script"))
    assert client.get("/reports/timeliness/charts/nonsense.svg").status_code == 404
    assert client.get("/reports/timeliness/charts/rating-vs-outcome-nobody.svg").status_code == 404


@pytest.mark.parametrize("roles", [("screening_officer",), ("service:childrens_services",), ("admin",)])
def test_only_managers_and_auditors_read_reports(client: TestClient, workspace: DevWorkspace, roles: tuple[str, ...]) -> None:
    """A screening officer, a receiving service and an admin get 403 on every report route;
    an auditor gets the report."""
    for path in ("/reports/timeliness", "/reports/timeliness.csv", "/reports/timeliness/charts/enquiries-by-state.svg"):
        denied = client.get(path, headers=bearer(workspace, *roles, sub="someone.else"))
        assert denied.status_code == 403, (path, roles)
        assert denied.json() == {"detail": "forbidden"}
        allowed = client.get(path, headers=bearer(workspace, "auditor", sub="an.auditor"))
        assert allowed.status_code == 200, path
    assert client.get("/reports/timeliness", headers={"Authorization": "Bearer nope"}).status_code == 401
