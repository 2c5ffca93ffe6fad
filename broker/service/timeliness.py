"""The timeliness and thresholds report as a use case: authorize, load, compute.

Also turns a report into the series each dashboard chart shows, so the JSON, the CSV,
the SVG charts and the web page all read the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from broker.domain.access import Principal, authorize_reports
from broker.domain.brag import Brag
from broker.domain.timeliness import (
    BRAGS,
    Period,
    TimelinessData,
    TimelinessReport,
    timeliness_report,
)


class TimelinessSource(Protocol):
    async def load(self, *, until: dt.datetime | None) -> TimelinessData: ...


async def read_timeliness(
    source: TimelinessSource,
    principal: Principal,
    *,
    period: Period,
    now: dt.datetime,
    timescales: Mapping[Brag, dt.timedelta],
) -> TimelinessReport:
    """The report for `period`, for a manager or an auditor (403 for anyone else)."""
    authorize_reports(principal)
    data = await source.load(until=period.end)
    return timeliness_report(data, period=period, now=now, timescales=timescales)


OUTCOME_LABELS: Mapping[str, str] = {
    "section_47_strategy_discussion": "s47",
    "section_17_assessment": "s17",
    "early_help": "Early Help",
    "supporting_families": "Supp. Families",
    "universal_services_advice": "Universal",
    "no_further_action": "NFA",
}


def outcome_label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome.replace("_", " "))


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def report_json(report: TimelinessReport) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    return {
        "period": {"start": _iso(report.period.start), "end": _iso(report.period.end)},
        "generated_at": report.generated_at.isoformat(),
        "enquiries_by_state": dict(report.enquiries_by_state),
        "enquiries_total": report.enquiries_total,
        "partners": [
            {
                "partner_id": p.partner_id, "asked": p.asked, "replied": p.replied,
                "replied_on_time": p.replied_on_time, "replied_late": p.replied_late,
                "overdue_pending": p.overdue_pending, "no_reply": p.no_reply, "overdue": p.overdue,
                "undeliverable": p.undeliverable, "pending": p.pending, "on_time_pct": p.on_time_pct,
                "median_reply_hours": p.median_reply_hours,
            }
            for p in report.partners
        ],
        "time_to_decision": [
            {
                "brag": d.brag.value if d.brag else "all", "decided": d.decided, "met": d.met,
                "missed": d.missed, "met_pct": d.met_pct, "median_hours": d.median_hours,
                "p90_hours": d.p90_hours,
            }
            for d in report.time_to_decision
        ],
        "outcomes": list(report.outcomes),
        "rating_vs_outcome": [
            {
                "rater": r.rater,
                "counts": {b.value: {o: r.counts[b].get(o, 0) for o in report.outcomes} for b in BRAGS},
                "distribution": {b.value: r.distribution.get(b, 0) for b in BRAGS},
                "unrated": r.unrated,
                "compared": r.compared,
                "on_usual_route": r.on_usual_route,
                "on_usual_route_pct": r.on_usual_route_pct,
            }
            for r in report.ratings
        ],
        "usual_route_note": (
            "The usual route (Red to s47, Amber to s17, Green to Early Help or Supporting Families, "
            "Blue to universal services or NFA) is a convention; the manager decides. The share on "
            "the usual route describes how ratings and outcomes line up, it does not judge them."
        ),
    }
