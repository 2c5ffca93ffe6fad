"""Reports over HTTP: the timeliness and thresholds report as JSON, CSV and SVG charts.

Every route takes an optional period, `start` and `end` (a date, YYYY-MM-DD, or an
ISO 8601 date-time; a time without a zone is UTC); the period is half-open, [start, end).
Managers and auditors only (403 otherwise, recorded in the audit log).
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from broker.domain.timeliness import Period, TimelinessReport, parse_period, report_rows
from broker.entrypoints.api.deps import BrokerDep, PrincipalDep
from broker.entrypoints.api.schemas import Problem
from broker.entrypoints.web.report_charts import render_chart
from broker.service.timeliness import report_json

router = APIRouter(tags=["reports"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid bearer token"},
    403: {"model": Problem, "description": "Reports are for managers and auditors"},
    422: {"model": Problem, "description": "An invalid period, with the reason"},
    503: {"model": Problem, "description": "A dependency is unavailable; retry after Retry-After"},
}

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
CSV_HEADER = ("section", "subject", "measure", "breakdown", "value")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

StartQuery = Annotated[
    str | None,
    Query(max_length=40, description="Start of the period (inclusive): YYYY-MM-DD or an ISO 8601 date-time"),
]
EndQuery = Annotated[
    str | None,
    Query(max_length=40, description="End of the period (exclusive): YYYY-MM-DD or an ISO 8601 date-time"),
]


def csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula: one starting with = + - @ (or a tab
    or carriage return) is prefixed with a single quote (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def report_csv(report: TimelinessReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in report_rows(report):
        writer.writerow([csv_cell(cell) for cell in row])
    return out.getvalue()


def filename(period: Period) -> str:
    start = period.start.strftime("%Y%m%dT%H%M%SZ") if period.start else "beginning"
    end = period.end.strftime("%Y%m%dT%H%M%SZ") if period.end else "now"
    return f"timeliness-{start}-{end}.csv"


@router.get("/reports/timeliness", responses=ERRORS, summary="Timeliness and thresholds report (JSON)")
async def timeliness(broker: BrokerDep, principal: PrincipalDep, start: StartQuery = None,
                     end: EndQuery = None) -> JSONResponse:
    """Enquiries by state, overdue partners, time to decision against the timescales, and each
    rater's BRAG against the final decisions."""
    report = await broker.timeliness_report(principal, parse_period(start, end))
    return JSONResponse(report_json(report), headers=NO_STORE)


@router.get(
    "/reports/timeliness.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "The report, one figure a row"}},
    response_class=Response,
    summary="Timeliness and thresholds report (CSV export)",
)
async def timeliness_csv(broker: BrokerDep, principal: PrincipalDep, start: StartQuery = None,
                         end: EndQuery = None) -> Response:
    """Columns section, subject, measure, breakdown, value; one row per figure."""
    period = parse_period(start, end)
    report = await broker.timeliness_report(principal, period)
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename(period)}"'},
    )


@router.get(
    "/reports/timeliness/charts/{name}.svg",
    responses={
        **ERRORS,
        200: {"content": {"image/svg+xml": {}}, "description": "The chart"},
        404: {"model": Problem, "description": "No such chart"},
    },
    response_class=Response,
    summary="A timeliness dashboard chart (SVG)",
)
async def timeliness_chart(broker: BrokerDep, principal: PrincipalDep, name: str,
                           start: StartQuery = None, end: EndQuery = None) -> Response:
    """enquiries-by-state, overdue-partners, time-to-decision, hours-to-decision,
    ratings-by-rater, or rating-vs-outcome-<rater> (mash or a partner id)."""
    report = await broker.timeliness_report(principal, parse_period(start, end))
    svg = render_chart(name, report)
    if svg is None:
        return JSONResponse({"detail": "no such chart"}, status_code=404)
    return Response(
        svg, media_type="image/svg+xml",
        headers={**NO_STORE, "Content-Security-Policy": "default-src 'none'; sandbox"},
    )
