"""The timeliness dashboard's charts, made from a report (SVG, server-side)."""

from __future__ import annotations

from broker.domain.timeliness import BRAGS, TimelinessReport
from broker.entrypoints.web.charts import BRAG_COLOURS, Series, bar_chart, heatmap, stacked_bar_chart
from broker.service.timeliness import outcome_label

FIXED_CHARTS = ("enquiries-by-state", "overdue-partners", "time-to-decision", "hours-to-decision", "ratings-by-rater")
RATING_PREFIX = "rating-vs-outcome-"


def chart_names(report: TimelinessReport) -> list[str]:
    return [*FIXED_CHARTS, *(RATING_PREFIX + r.rater for r in report.ratings)]


def _period(report: TimelinessReport) -> str:
    start = report.period.start.date().isoformat() if report.period.start else "the beginning"
    end = report.period.end.date().isoformat() if report.period.end else "now"
    return f"from {start} to {end} (end exclusive)"


def render_chart(name: str, report: TimelinessReport) -> str | None:
    """The named chart as SVG, or None when there is no such chart."""
    period = _period(report)
    if name == "enquiries-by-state":
        items = list(report.enquiries_by_state.items())
        return bar_chart(
            name, "Enquiries by state",
            f"Enquiries opened {period}, by state: "
            + ", ".join(f"{state} {n}" for state, n in items) + ".",
            items,
        )
    if name == "overdue-partners":
        parts = report.partners
        desc = "; ".join(
            f"{p.partner_id}: {p.replied_on_time} on time, {p.replied_late} late, {p.no_reply} no reply, "
            f"{p.overdue_pending} overdue, {p.undeliverable} undeliverable, {p.pending} pending"
            for p in parts
        )
        return stacked_bar_chart(
            name, "Partner replies against the deadline",
            f"Requests to each partner for enquiries opened {period}. {desc}.",
            [p.partner_id for p in parts],
            [
                Series("on time", [p.replied_on_time for p in parts], "#00703c"),
                Series("late", [p.replied_late for p in parts], "#f47738"),
                Series("no reply", [p.no_reply for p in parts], "#d4351c"),
                Series("overdue", [p.overdue_pending for p in parts], "#942514"),
                Series("undeliverable", [p.undeliverable for p in parts], "#505a5f"),
                Series("pending", [p.pending for p in parts], "#5694ca"),
            ],
        )
    rows = [d for d in report.time_to_decision if d.brag is not None]
    if name == "time-to-decision":
        return stacked_bar_chart(
            name, "Decisions within the timescale",
            f"Decisions made {period}, by BRAG: "
            + "; ".join(f"{d.brag.value if d.brag else ''}: {d.met} met, {d.missed} missed" for d in rows) + ".",
            [d.brag.value if d.brag else "" for d in rows],
            [
                Series("met", [d.met for d in rows], "#00703c"),
                Series("missed", [d.missed for d in rows], "#d4351c"),
                Series("no timescale", [d.decided - d.met - d.missed for d in rows], "#b1b4b6"),
            ],
        )
    if name == "hours-to-decision":
        return bar_chart(
            name, "Median hours to decision",
            f"Median hours from contact (or enquiry) to decision, decisions made {period}: "
            + "; ".join(
                f"{d.brag.value if d.brag else ''} {d.median_hours if d.median_hours is not None else 'none'}"
                for d in rows
            ) + ".",
            [(d.brag.value if d.brag else "", d.median_hours or 0.0) for d in rows],
            colours=[BRAG_COLOURS[d.brag.value] for d in rows if d.brag],
            unit="h",
        )
    if name == "ratings-by-rater":
        raters = report.ratings
        return stacked_bar_chart(
            name, "BRAG ratings given, by rater",
            f"Ratings given {period} by the MASH (sanctioned) and by each partner: "
            + "; ".join(
                f"{r.rater}: " + ", ".join(f"{b.value} {r.distribution.get(b, 0)}" for b in BRAGS) for r in raters
            ) + ".",
            [r.rater for r in raters],
            [Series(b.value, [r.distribution.get(b, 0) for r in raters], BRAG_COLOURS[b.value]) for b in BRAGS],
        )
    if name.startswith(RATING_PREFIX):
        rating = report.rating(name[len(RATING_PREFIX):])
        if rating is None:
            return None
        order = list(reversed(BRAGS))
        share = "no decided cases" if rating.on_usual_route_pct is None else (
            f"{rating.on_usual_route_pct}% of {rating.compared} decided cases on the usual route"
        )
        return heatmap(
            name, f"{rating.rater}: rating against outcome",
            f"Cases decided {period}: {rating.rater}'s BRAG (rows) against the manager's outcome "
            f"(columns); {share}. The usual route is a convention; the manager decides.",
            [b.value for b in order],
            [outcome_label(o) for o in report.outcomes],
            [[rating.counts[b].get(o, 0) for o in report.outcomes] for b in order],
        )
    return None
