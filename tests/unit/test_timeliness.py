"""Timeliness and thresholds figures: worked examples and properties over generated records."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.domain.brag import Brag
from broker.domain.timeliness import (
    BRAGS,
    ENQUIRY_STATES,
    OUTCOMES,
    EARLY_HELP as EH,
    SECTION_17 as S17,
    SECTION_47 as S47,
    ContactRecord,
    DecisionRecord,
    EnquiryRecord,
    PartnerRequestRecord,
    Period,
    TimelinessData,
    median,
    nearest_rank,
    percent,
    report_rows,
    timeliness_report,
)

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
TIMESCALES = {Brag.RED: 4 * H, Brag.AMBER: 24 * H, Brag.GREEN: 72 * H, Brag.BLUE: 72 * H}


def enquiry(eid: str, *, state: str = "complete", brag: Brag = Brag.AMBER, opened: dt.datetime = T0,
            hours: int = 24, contact_id: str | None = None) -> EnquiryRecord:
    return EnquiryRecord(eid, state, brag, opened, opened + hours * H, None, contact_id)


def test_worked_example_counts_each_figure() -> None:
    """A small MASH day: states counted, a late reply and an overdue partner found, the
    decision timescale met for one case and missed for the other, ratings cross-tabulated."""
    data = TimelinessData(
        enquiries=[
            enquiry("e1", brag=Brag.RED, hours=4, contact_id="c1"),
            enquiry("e2", state="partial", brag=Brag.AMBER),
            enquiry("e3", state="dispatched", brag=Brag.GREEN, hours=72),
        ],
        requests=[
            PartnerRequestRecord("r1", "e1", "police", "replied", Brag.RED, T0 + 2 * H),
            PartnerRequestRecord("r2", "e1", "health", "replied", Brag.AMBER, T0 + 5 * H),  # late
            PartnerRequestRecord("r3", "e2", "police", "replied", Brag.GREEN, T0 + 1 * H),
            PartnerRequestRecord("r4", "e2", "health", "no_reply"),
            PartnerRequestRecord("r5", "e3", "health", "pending"),
            PartnerRequestRecord("r6", "e3", "education", "not_asked"),
        ],
        contacts=[ContactRecord("c1", T0 - 1 * H, Brag.RED, T0 + 3 * H, "e1")],
        decisions=[
            DecisionRecord("d1", S47, T0 + 2 * H, contact_id="c1"),  # 3 h after receipt: met
            DecisionRecord("d2", EH, T0 + 30 * H, enquiry_id="e2"),  # amber 24 h: missed
        ],
    )
    report = timeliness_report(data, period=Period(), now=T0 + 100 * H, timescales=TIMESCALES)

    assert dict(report.enquiries_by_state) == {"opened": 0, "refused": 0, "dispatched": 1, "complete": 1, "partial": 1}
    health = next(p for p in report.partners if p.partner_id == "health")
    assert (health.asked, health.replied, health.replied_late, health.no_reply, health.overdue_pending) == (3, 1, 1, 1, 1)
    assert health.overdue == 2
    assert health.median_reply_hours == 5.0
    education = next(p for p in report.partners if p.partner_id == "education")
    assert education.asked == 0 and education.on_time_pct is None

    red = report.decision_timeliness(Brag.RED)
    amber = report.decision_timeliness(Brag.AMBER)
    overall = report.decision_timeliness(None)
    assert (red.decided, red.met, red.missed, red.median_hours) == (1, 1, 0, 3.0)
    assert (amber.decided, amber.met, amber.missed, amber.median_hours) == (1, 0, 1, 30.0)
    assert (overall.decided, overall.met_pct, overall.p90_hours) == (2, 50.0, 30.0)

    police = report.rating("police")
    assert police is not None
    assert police.counts[Brag.RED] == {S47: 1}
    assert police.counts[Brag.GREEN] == {EH: 1}
    assert (police.compared, police.on_usual_route, police.on_usual_route_pct) == (2, 2, 100.0)
    health_rating = report.rating("health")
    assert health_rating is not None
    assert health_rating.counts[Brag.AMBER] == {S47: 1}  # rated amber, the manager chose s47
    assert (health_rating.compared, health_rating.on_usual_route_pct) == (1, 0.0)
    mash = report.rating("mash")
    assert mash is not None and mash.counts[Brag.RED] == {S47: 1} and mash.counts[Brag.AMBER] == {EH: 1}
    # The contact's rating counts once, not again for the enquiry made from it.
    assert mash.distribution == {Brag.BLUE: 0, Brag.GREEN: 1, Brag.AMBER: 1, Brag.RED: 1}


def test_enquiry_without_a_contact_uses_its_opening_and_the_timescale_table() -> None:
    """With no contact, the clock starts when the enquiry opened and the BRAG's timescale sets the due time."""
    data = TimelinessData(
        enquiries=[enquiry("e1", brag=Brag.RED, hours=4)],
        decisions=[DecisionRecord("d1", S47, T0 + 4 * H, enquiry_id="e1")],
    )
    exactly_on_time = timeliness_report(data, period=Period(), now=T0, timescales=TIMESCALES)
    assert exactly_on_time.decision_timeliness(Brag.RED).met == 1
    tighter = timeliness_report(data, period=Period(), now=T0, timescales={**TIMESCALES, Brag.RED: 2 * H})
    assert tighter.decision_timeliness(Brag.RED).missed == 1


def test_contact_without_a_due_time_has_no_timescale() -> None:
    """A contact whose BRAG has no target (blue: no due time) is decided but neither met nor missed,
    whatever the enquiry timescale table says."""
    data = TimelinessData(
        contacts=[ContactRecord("c1", T0, Brag.BLUE, None)],
        decisions=[DecisionRecord("d1", "universal_services_advice", T0 + 500 * H, contact_id="c1")],
    )
    report = timeliness_report(data, period=Period(), now=T0, timescales=TIMESCALES)
    blue = report.decision_timeliness(Brag.BLUE)
    assert (blue.decided, blue.met, blue.missed, blue.met_pct, blue.median_hours) == (1, 0, 0, None, 500.0)


def test_period_is_half_open_and_anchors_each_figure() -> None:
    """Enquiries count by opening, decisions by when they were made; the end is exclusive."""
    data = TimelinessData(
        enquiries=[enquiry("e1"), enquiry("e2", opened=T0 + 48 * H)],
        decisions=[DecisionRecord("d1", S17, T0 + 48 * H, enquiry_id="e1")],
    )
    first_day = timeliness_report(data, period=Period(T0, T0 + 24 * H), now=T0, timescales=TIMESCALES)
    assert first_day.enquiries_total == 1
    assert first_day.decision_timeliness(None).decided == 0
    third_day = timeliness_report(data, period=Period(T0 + 48 * H, T0 + 72 * H), now=T0, timescales=TIMESCALES)
    assert third_day.enquiries_total == 1
    assert third_day.decision_timeliness(None).decided == 1
    assert third_day.decision_timeliness(Brag.AMBER).missed == 1  # 48 h against 24 h


def test_period_must_not_end_before_it_starts() -> None:
    """A reversed period is refused rather than silently empty."""
    with pytest.raises(ValueError, match="ends before it starts"):
        Period(T0, T0 - H)


def test_unknown_outcomes_are_kept_and_exported() -> None:
    """An outcome outside the known list still appears in the cross-tabulation and the export."""
    data = TimelinessData(
        enquiries=[enquiry("e1")],
        decisions=[DecisionRecord("d1", "specialist_assessment", T0 + H, enquiry_id="e1")],
    )
    report = timeliness_report(data, period=Period(), now=T0, timescales=TIMESCALES)
    assert report.outcomes[-1] == "specialist_assessment"
    assert ("rating_vs_outcome", "mash", "amber", "specialist_assessment", "1") in report_rows(report)


def test_arithmetic_helpers() -> None:
    """Median of even and odd counts, nearest-rank p90, percent of nothing is None."""
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert median([]) is None
    assert nearest_rank(list(map(float, range(1, 11))), 90) == 9.0
    assert nearest_rank([5.0], 90) == 5.0
    assert percent(1, 3) == 33.3
    assert percent(0, 0) is None


# --- properties ------------------------------------------------------------------------------

times = st.integers(min_value=0, max_value=24 * 30).map(lambda h: T0 + h * H)
brags = st.sampled_from(BRAGS)


@st.composite
def datasets(draw: st.DrawFn) -> TimelinessData:
    n = draw(st.integers(min_value=0, max_value=12))
    enquiries = []
    requests = []
    decisions = []
    for i in range(n):
        opened = draw(times)
        e = EnquiryRecord(f"e{i}", draw(st.sampled_from(ENQUIRY_STATES)), draw(brags), opened,
                          opened + draw(st.integers(1, 96)) * H)
        enquiries.append(e)
        for partner in draw(st.lists(st.sampled_from(["police", "health", "education"]), unique=True)):
            status = draw(st.sampled_from(["pending", "replied", "no_reply", "not_asked", "undeliverable"]))
            replied = opened + draw(st.integers(0, 120)) * H if status == "replied" else None
            requests.append(PartnerRequestRecord(f"r{i}{partner}", e.enquiry_id, partner, status,
                                                 draw(st.none() | brags), replied))
        if draw(st.booleans()):
            decisions.append(DecisionRecord(f"d{i}", draw(st.sampled_from(OUTCOMES)),
                                            opened + draw(st.integers(0, 200)) * H, enquiry_id=e.enquiry_id))
    return TimelinessData(enquiries=enquiries, requests=requests, decisions=decisions)


def _period(a: dt.datetime | None, b: dt.datetime | None) -> Period:
    if a is not None and b is not None and b < a:
        a, b = b, a
    return Period(a, b)


periods = st.builds(_period, st.none() | times, st.none() | times)


@settings(max_examples=150, deadline=None)
@given(datasets(), periods, times)
def test_counts_add_up(data: TimelinessData, period: Period, now: dt.datetime) -> None:
    """States sum to the enquiries in the period; each partner's outcomes sum to what it was asked;
    met + missed never exceed the decisions; per-BRAG decisions sum to the overall."""
    report = timeliness_report(data, period=period, now=now, timescales=TIMESCALES)
    assert report.enquiries_total == sum(1 for e in data.enquiries if e.opened_at in period)
    for p in report.partners:
        assert p.replied_on_time + p.replied_late == p.replied
        assert p.replied + p.no_reply + p.undeliverable + p.overdue_pending + p.pending == p.asked
    overall = report.decision_timeliness(None)
    assert overall.decided == sum(1 for d in data.decisions if d.decided_at in period)
    assert sum(report.decision_timeliness(b).decided for b in BRAGS) == overall.decided
    assert overall.met + overall.missed == overall.decided  # every generated case has a BRAG
    for rating in report.ratings:
        assert rating.on_usual_route <= rating.compared
    mash = report.rating("mash")
    assert mash is not None and mash.compared == overall.decided


@settings(max_examples=150, deadline=None)
@given(datasets(), periods, times)
def test_percentages_are_within_0_and_100(data: TimelinessData, period: Period, now: dt.datetime) -> None:
    """Every percentage is None (nothing to divide) or in [0, 100]."""
    report = timeliness_report(data, period=period, now=now, timescales=TIMESCALES)
    values = [p.on_time_pct for p in report.partners] + [d.met_pct for d in report.time_to_decision]
    values += [r.on_usual_route_pct for r in report.ratings]
    for value in values:
        assert value is None or 0.0 <= value <= 100.0
    for d in report.time_to_decision:
        if d.decided:
            assert d.median_hours is not None and d.p90_hours is not None
            assert d.median_hours <= d.p90_hours + 1e-9


@settings(max_examples=150, deadline=None)
@given(datasets(), periods, periods, times)
def test_narrowing_the_period_never_increases_a_count(
    data: TimelinessData, outer: Period, inner: Period, now: dt.datetime
) -> None:
    """Intersecting a period with another never makes any count larger."""
    start = max((s for s in (outer.start, inner.start) if s is not None), default=None)
    end = min((e for e in (outer.end, inner.end) if e is not None), default=None)
    if start is not None and end is not None and end < start:
        end = start
    narrow = Period(start, end)
    wide = timeliness_report(data, period=outer, now=now, timescales=TIMESCALES)
    small = timeliness_report(data, period=narrow, now=now, timescales=TIMESCALES)
    for state in ENQUIRY_STATES:
        assert small.enquiries_by_state[state] <= wide.enquiries_by_state[state]
    for w, s in zip(wide.partners, small.partners, strict=True):
        assert s.partner_id == w.partner_id
        for measure in ("asked", "replied", "replied_late", "overdue_pending", "no_reply", "undeliverable", "pending"):
            assert getattr(s, measure) <= getattr(w, measure)
    for w_d, s_d in zip(wide.time_to_decision, small.time_to_decision, strict=True):
        assert s_d.decided <= w_d.decided
        assert s_d.met <= w_d.met and s_d.missed <= w_d.missed
    for w_r, s_r in zip(wide.ratings, small.ratings, strict=True):
        assert s_r.compared <= w_r.compared
        for brag in BRAGS:
            assert s_r.distribution[brag] <= w_r.distribution[brag]


@settings(max_examples=50, deadline=None)
@given(datasets(), periods, times)
def test_export_rows_carry_every_state_and_partner(data: TimelinessData, period: Period, now: dt.datetime) -> None:
    """The export has a row per state, per partner measure, and five text cells in each row."""
    report = timeliness_report(data, period=period, now=now, timescales=TIMESCALES)
    rows = report_rows(report)
    assert all(len(row) == 5 and all(isinstance(c, str) for c in row) for row in rows)
    states = {r[1]: int(r[4]) for r in rows if r[0] == "enquiries_by_state"}
    assert states["all"] == report.enquiries_total
    assert {p.partner_id for p in report.partners} <= {r[1] for r in rows if r[0] == "partners"}
