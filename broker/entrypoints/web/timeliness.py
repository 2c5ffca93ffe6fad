"""The timeliness dashboard: enquiries by state, overdue partners, time to decision against
the timescales, and each rater's BRAG against the final decisions, as server-rendered SVG
charts with the same figures in tables, and the CSV export. Managers and auditors only
(the use case decides; a refusal is an audited 403 page)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from broker.domain.timeliness import parse_period
from broker.entrypoints.api.reports_routes import NO_STORE, filename, report_csv
from broker.entrypoints.web.core import UiPrincipal, UiRoute, broker_of, render
from broker.entrypoints.web.report_charts import FIXED_CHARTS, RATING_PREFIX, render_chart
from broker.service.timeliness import outcome_label

router = APIRouter(route_class=UiRoute)

DateQuery = Annotated[str | None, Query(max_length=40)]


@router.get("/ui/timeliness", response_class=HTMLResponse, include_in_schema=False)
async def dashboard(request: Request, principal: UiPrincipal, start: DateQuery = None,
                    end: DateQuery = None) -> Response:
    period = parse_period(start, end)
    report = await broker_of(request).timeliness_report(principal, period)
    # Charts are built by escaping every label (charts.py), so they are safe to inline.
    charts = {name: Markup(render_chart(name, report) or "") for name in FIXED_CHARTS}
    rating_charts = {r.rater: Markup(render_chart(RATING_PREFIX + r.rater, report) or "") for r in report.ratings}
    query = {k: v for k, v in (("start", start or ""), ("end", end or "")) if v}
    return render(request, "timeliness.html", {
        "report": report,
        "charts": charts,
        "rating_charts": rating_charts,
        "start": start or "",
        "end": end or "",
        "csv_query": urlencode(query),
        "outcome_label": outcome_label,
    }, principal)


@router.get("/ui/timeliness.csv", include_in_schema=False)
async def export(request: Request, principal: UiPrincipal, start: DateQuery = None,
                 end: DateQuery = None) -> Response:
    period = parse_period(start, end)
    report = await broker_of(request).timeliness_report(principal, period)
    return Response(
        report_csv(report), media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename(period)}"'},
    )
