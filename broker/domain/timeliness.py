"""Timeliness and thresholds: the figures an inspector asks a MASH for.

Computed from plain records (ids, states, times, BRAG ratings and outcomes; no
personal data), for a period:

* enquiries by state (enquiries opened in the period);
* overdue partners: per partner, requests past their deadline still unanswered,
  no_reply, late replies, and the median time to reply (requests of enquiries
  opened in the period);
* time to decision: from the contact's receipt (or the enquiry's opening when
  there was no contact) to the manager's decision, against the timescale for the
  case's BRAG: met or missed, median and 90th percentile per BRAG (decisions
  made in the period);
* partner rating against outcome: each partner's BRAG cross-tabulated with the
  final decision, and how often the rating and the outcome follow the usual route
  (Red to s47, Amber to s17, Green to Early Help or Supporting Families, Blue to
  universal services or NFA). MASH.md §1.2 says that route is a convention and the
  manager decides, so the figure describes, it does not judge.

A period is half-open, [start, end); either end may be open.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from broker.domain.brag import DEFAULT_TIMESCALES, Brag
from broker.domain.decision import Outcome
from broker.domain.errors import DomainError

ENQUIRY_STATES: tuple[str, ...] = ("opened", "refused", "dispatched", "complete", "partial")
BRAGS: tuple[Brag, ...] = (Brag.BLUE, Brag.GREEN, Brag.AMBER, Brag.RED)

SECTION_47 = Outcome.SECTION_47_STRATEGY_DISCUSSION.value
SECTION_17 = Outcome.SECTION_17_ASSESSMENT.value
EARLY_HELP = Outcome.EARLY_HELP.value
SUPPORTING_FAMILIES = Outcome.SUPPORTING_FAMILIES.value
UNIVERSAL_SERVICES = Outcome.UNIVERSAL_SERVICES_ADVICE.value
NO_FURTHER_ACTION = Outcome.NO_FURTHER_ACTION.value
OUTCOMES: tuple[str, ...] = (
    SECTION_47, SECTION_17, EARLY_HELP, SUPPORTING_FAMILIES, UNIVERSAL_SERVICES, NO_FURTHER_ACTION,
)

# The usual route for each colour (MASH.md §1.2): a convention, not a rule.
ROUTE_CONVENTION: Mapping[Brag, frozenset[str]] = {
    Brag.RED: frozenset({SECTION_47}),
    Brag.AMBER: frozenset({SECTION_17}),
    Brag.GREEN: frozenset({EARLY_HELP, SUPPORTING_FAMILIES}),
    Brag.BLUE: frozenset({UNIVERSAL_SERVICES, NO_FURTHER_ACTION}),
}


# --- the records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnquiryRecord:
    enquiry_id: str
    state: str
    brag: Brag
    opened_at: dt.datetime
    deadline_at: dt.datetime
    closed_at: dt.datetime | None = None
    contact_id: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerRequestRecord:
    request_id: str
    enquiry_id: str
    partner_id: str
    status: str  # pending | replied | no_reply | not_asked | undeliverable
    brag: Brag | None = None  # the partner's own rating, when it gave one
    replied_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    contact_id: str
    received_at: dt.datetime
    brag: Brag | None = None  # the sanctioned rating
    due_at: dt.datetime | None = None  # the decision due time its timescale gave
    enquiry_id: str | None = None


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    decision_id: str
    outcome: str
    decided_at: dt.datetime
    contact_id: str | None = None
    enquiry_id: str | None = None


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end); None leaves that side open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("the period ends before it starts")

    def __contains__(self, moment: dt.datetime) -> bool:
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end


class InvalidPeriod(DomainError):
    """A period that cannot be read; the message says which end and why."""


def parse_moment(value: str | None, name: str) -> dt.datetime | None:
    """A date (YYYY-MM-DD: midnight UTC) or an ISO 8601 date-time (UTC when it names no zone)."""
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPeriod(f"{name} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def parse_period(start: str | None, end: str | None) -> Period:
    """[start, end) from two optional texts; an end before the start is refused."""
    begins, ends = parse_moment(start, "start"), parse_moment(end, "end")
    if begins is not None and ends is not None and ends < begins:
        raise InvalidPeriod("the period ends before it starts (end is before start)")
    return Period(begins, ends)


@dataclass(frozen=True, slots=True)
class TimelinessData:
    enquiries: Sequence[EnquiryRecord] = ()
    requests: Sequence[PartnerRequestRecord] = ()
    contacts: Sequence[ContactRecord] = ()
    decisions: Sequence[DecisionRecord] = ()


# --- the figures ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartnerTimeliness:
    partner_id: str
    asked: int  # requests sent (everything but not_asked)
    replied: int
    replied_on_time: int
    replied_late: int  # replied after the enquiry's deadline
    overdue_pending: int  # still pending although the deadline has passed
    no_reply: int  # the deadline closed the enquiry without a reply
    undeliverable: int
    pending: int  # still pending, deadline not yet reached
    median_reply_hours: float | None

    @property
    def overdue(self) -> int:
        """Past the deadline with no answer: still pending, or closed as no_reply."""
        return self.overdue_pending + self.no_reply

    @property
    def on_time_pct(self) -> float | None:
        return percent(self.replied_on_time, self.asked)


@dataclass(frozen=True, slots=True)
class DecisionTimeliness:
    """Time to decision for one BRAG (or for every case, brag None)."""

    brag: Brag | None
    decided: int
    met: int
    missed: int
    median_hours: float | None
    p90_hours: float | None

    @property
    def met_pct(self) -> float | None:
        """Met, as a share of the decisions that had a timescale to meet."""
        return percent(self.met, self.met + self.missed)


@dataclass(frozen=True, slots=True)
class RatingVsOutcome:
    """One rater's BRAG against the final outcomes ("mash" is the sanctioned rating)."""

    rater: str
    counts: Mapping[Brag, Mapping[str, int]]  # brag -> outcome -> cases
    distribution: Mapping[Brag, int]  # every rating given in the period, decided or not
    unrated: int  # replies that gave no rating

    @property
    def compared(self) -> int:
        return sum(sum(row.values()) for row in self.counts.values())

    @property
    def on_usual_route(self) -> int:
        return sum(
            n for brag, row in self.counts.items() for outcome, n in row.items()
            if outcome in ROUTE_CONVENTION[brag]
        )

    @property
    def on_usual_route_pct(self) -> float | None:
        return percent(self.on_usual_route, self.compared)


@dataclass(frozen=True, slots=True)
class TimelinessReport:
    period: Period
    generated_at: dt.datetime
    enquiries_by_state: Mapping[str, int]
    partners: tuple[PartnerTimeliness, ...]
    time_to_decision: tuple[DecisionTimeliness, ...]  # one per BRAG, then the overall (brag None)
    ratings: tuple[RatingVsOutcome, ...]  # "mash" first, then each partner
    outcomes: tuple[str, ...] = field(default=OUTCOMES)

    @property
    def enquiries_total(self) -> int:
        return sum(self.enquiries_by_state.values())

    def rating(self, rater: str) -> RatingVsOutcome | None:
        return next((r for r in self.ratings if r.rater == rater), None)

    def decision_timeliness(self, brag: Brag | None) -> DecisionTimeliness:
        return next(d for d in self.time_to_decision if d.brag is brag)


# --- arithmetic ------------------------------------------------------------------------------


def percent(part: int, whole: int) -> float | None:
    """part/whole as a percentage rounded to one place; None when there is nothing to divide."""
    if whole <= 0:
        return None
    return round(100.0 * part / whole, 1)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def nearest_rank(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least pct% of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _hours(span: dt.timedelta) -> float:
    return span.total_seconds() / 3600.0


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# --- the report ------------------------------------------------------------------------------


def timeliness_report(
    data: TimelinessData,
    *,
    period: Period,
    now: dt.datetime,
    timescales: Mapping[Brag, dt.timedelta] = DEFAULT_TIMESCALES,
    partners: Iterable[str] = (),
) -> TimelinessReport:
    """Every figure for `period`. A contact's own due time is its timescale (none: no target);
    `timescales` times a decision on an enquiry opened without a contact; `partners` are listed even with no
    requests in the period (so a partner never asked still shows as a zero row)."""
    enquiries = {e.enquiry_id: e for e in data.enquiries}
    contacts = {c.contact_id: c for c in data.contacts}
    in_period = {e.enquiry_id for e in data.enquiries if e.opened_at in period}

    by_state = {state: 0 for state in ENQUIRY_STATES}
    for enquiry_id in in_period:
        state = enquiries[enquiry_id].state
        by_state[state] = by_state.get(state, 0) + 1

    requests = [r for r in data.requests if r.enquiry_id in in_period]
    partner_ids = sorted(set(partners) | {r.partner_id for r in data.requests})
    partner_rows = tuple(
        _partner_timeliness(pid, [r for r in requests if r.partner_id == pid], enquiries, now)
        for pid in partner_ids
    )

    decisions = [d for d in data.decisions if d.decided_at in period]
    cases = [_case(d, enquiries, contacts, timescales) for d in decisions]
    timing = tuple(
        _decision_timeliness(brag, [c for c in cases if c.brag is brag]) for brag in BRAGS
    ) + (_decision_timeliness(None, cases),)

    ratings = (_mash_ratings(cases, data, contacts, enquiries, period),) + tuple(
        _partner_ratings(pid, data.requests, cases, enquiries, period) for pid in partner_ids
    )
    return TimelinessReport(
        period=period,
        generated_at=now,
        enquiries_by_state=by_state,
        partners=partner_rows,
        time_to_decision=timing,
        ratings=ratings,
        outcomes=OUTCOMES + tuple(sorted({d.outcome for d in decisions} - set(OUTCOMES))),
    )


def _partner_timeliness(
    partner_id: str, requests: list[PartnerRequestRecord], enquiries: Mapping[str, EnquiryRecord],
    now: dt.datetime,
) -> PartnerTimeliness:
    asked = replied = on_time = late = overdue_pending = no_reply = undeliverable = pending = 0
    reply_hours: list[float] = []
    for r in requests:
        if r.status == "not_asked":
            continue
        asked += 1
        enquiry = enquiries[r.enquiry_id]
        if r.status == "replied":
            replied += 1
            if r.replied_at is not None and r.replied_at > enquiry.deadline_at:
                late += 1
            else:
                on_time += 1
            if r.replied_at is not None:
                reply_hours.append(_hours(max(r.replied_at - enquiry.opened_at, dt.timedelta(0))))
        elif r.status == "no_reply":
            no_reply += 1
        elif r.status == "undeliverable":
            undeliverable += 1
        elif now >= enquiry.deadline_at:
            overdue_pending += 1
        else:
            pending += 1
    return PartnerTimeliness(
        partner_id=partner_id, asked=asked, replied=replied, replied_on_time=on_time,
        replied_late=late, overdue_pending=overdue_pending, no_reply=no_reply,
        undeliverable=undeliverable, pending=pending, median_reply_hours=_round(median(reply_hours)),
    )


@dataclass(frozen=True, slots=True)
class _Case:
    decision: DecisionRecord
    enquiry_id: str | None
    brag: Brag | None
    hours: float | None
    met: bool | None


def _case(
    decision: DecisionRecord, enquiries: Mapping[str, EnquiryRecord],
    contacts: Mapping[str, ContactRecord], timescales: Mapping[Brag, dt.timedelta],
) -> _Case:
    contact = contacts.get(decision.contact_id) if decision.contact_id else None
    enquiry_id = decision.enquiry_id or (contact.enquiry_id if contact else None)
    enquiry = enquiries.get(enquiry_id) if enquiry_id else None
    if contact is None and enquiry is not None and enquiry.contact_id:
        contact = contacts.get(enquiry.contact_id)
    # A contact carries its own due time (None: its BRAG has no target, e.g. blue); an enquiry
    # opened without a contact is timed from its opening by the timescale table.
    if contact is not None:
        start: dt.datetime | None = contact.received_at
        brag = contact.brag or (enquiry.brag if enquiry else None)
        due = contact.due_at
    elif enquiry is not None:
        start, brag = enquiry.opened_at, enquiry.brag
        due = start + timescales[brag] if brag in timescales else None
    else:
        start, brag, due = None, None, None
    if start is None:
        return _Case(decision, enquiry_id, brag, None, None)
    hours = _hours(max(decision.decided_at - start, dt.timedelta(0)))
    return _Case(decision, enquiry_id, brag, hours, None if due is None else decision.decided_at <= due)


def _decision_timeliness(brag: Brag | None, cases: list[_Case]) -> DecisionTimeliness:
    hours = [c.hours for c in cases if c.hours is not None]
    return DecisionTimeliness(
        brag=brag,
        decided=len(cases),
        met=sum(1 for c in cases if c.met is True),
        missed=sum(1 for c in cases if c.met is False),
        median_hours=_round(median(hours)),
        p90_hours=_round(nearest_rank(hours, 90)),
    )


def _empty_table() -> dict[Brag, dict[str, int]]:
    return {brag: {} for brag in BRAGS}


def _count(table: dict[Brag, dict[str, int]], brag: Brag, outcome: str) -> None:
    table[brag][outcome] = table[brag].get(outcome, 0) + 1


def _mash_ratings(
    cases: list[_Case], data: TimelinessData, contacts: Mapping[str, ContactRecord],
    enquiries: Mapping[str, EnquiryRecord], period: Period,
) -> RatingVsOutcome:
    """The MASH's own (sanctioned) rating of each decided case against its outcome."""
    table = _empty_table()
    for case in cases:
        if case.brag is not None:
            _count(table, case.brag, case.decision.outcome)
    distribution = {brag: 0 for brag in BRAGS}
    for contact in data.contacts:
        if contact.received_at in period and contact.brag is not None:
            distribution[contact.brag] += 1
    from_contacts = {c.enquiry_id for c in data.contacts if c.enquiry_id}
    for enquiry in data.enquiries:
        if enquiry.opened_at in period and enquiry.contact_id is None and enquiry.enquiry_id not in from_contacts:
            distribution[enquiry.brag] += 1
    return RatingVsOutcome("mash", table, distribution, 0)


def _partner_ratings(
    partner_id: str, requests: Sequence[PartnerRequestRecord], cases: list[_Case],
    enquiries: Mapping[str, EnquiryRecord], period: Period,
) -> RatingVsOutcome:
    """The partner's rating in each decided case it replied to, against the outcome; and
    every rating it gave on enquiries opened in the period."""
    mine = [r for r in requests if r.partner_id == partner_id and r.status == "replied"]
    by_enquiry = {r.enquiry_id: r for r in mine}
    table = _empty_table()
    for case in cases:
        reply = by_enquiry.get(case.enquiry_id) if case.enquiry_id else None
        if reply is not None and reply.brag is not None:
            _count(table, reply.brag, case.decision.outcome)
    distribution = {brag: 0 for brag in BRAGS}
    unrated = 0
    for r in mine:
        enquiry = enquiries.get(r.enquiry_id)
        if enquiry is None or enquiry.opened_at not in period:
            continue
        if r.brag is None:
            unrated += 1
        else:
            distribution[r.brag] += 1
    return RatingVsOutcome(partner_id, table, distribution, unrated)


# --- as rows, for a CSV export -----------------------------------------------------------------


def _cell(value: float | int | None) -> str:
    return "" if value is None else str(value)


def report_rows(report: TimelinessReport) -> list[tuple[str, str, str, str, str]]:
    """The report as (section, subject, measure, breakdown, value) rows: one per figure."""
    rows: list[tuple[str, str, str, str, str]] = []
    for state, n in report.enquiries_by_state.items():
        rows.append(("enquiries_by_state", state, "enquiries", "", str(n)))
    rows.append(("enquiries_by_state", "all", "enquiries", "", str(report.enquiries_total)))
    for p in report.partners:
        for measure, value in (
            ("asked", p.asked), ("replied", p.replied), ("replied_on_time", p.replied_on_time),
            ("replied_late", p.replied_late), ("overdue_pending", p.overdue_pending),
            ("no_reply", p.no_reply), ("overdue", p.overdue), ("undeliverable", p.undeliverable),
            ("pending", p.pending), ("on_time_pct", p.on_time_pct),
            ("median_reply_hours", p.median_reply_hours),
        ):
            rows.append(("partners", p.partner_id, measure, "", _cell(value)))
    for d in report.time_to_decision:
        brag = d.brag.value if d.brag else "all"
        for measure, value in (
            ("decided", d.decided), ("met", d.met), ("missed", d.missed), ("met_pct", d.met_pct),
            ("median_hours", d.median_hours), ("p90_hours", d.p90_hours),
        ):
            rows.append(("time_to_decision", brag, measure, "", _cell(value)))
    for r in report.ratings:
        for brag in BRAGS:
            rows.append(("rating_distribution", r.rater, "ratings", brag.value, str(r.distribution.get(brag, 0))))
            for outcome in report.outcomes:
                rows.append((
                    "rating_vs_outcome", r.rater, brag.value, outcome, str(r.counts[brag].get(outcome, 0)),
                ))
        if r.rater != "mash":
            rows.append(("rating_distribution", r.rater, "ratings", "unrated", str(r.unrated)))
        rows.append(("rating_vs_outcome", r.rater, "compared", "", str(r.compared)))
        rows.append(("rating_vs_outcome", r.rater, "on_usual_route", "", str(r.on_usual_route)))
        rows.append(("rating_vs_outcome", r.rater, "on_usual_route_pct", "", _cell(r.on_usual_route_pct)))
    return rows
