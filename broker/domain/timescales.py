"""Front-door timescales: how long a contact has, by BRAG, counted on the authority's calendar.

MASH.md §1.3: SLAs are configurable per local authority and per colour, counted either on the
wall clock or in working hours; red may run out of hours (Luton: "red cases are finished even
outside working hours"); the SLA is recalculated whenever the rating changes.

A `WorkingCalendar` holds one authority's working week (weekdays, opening and closing times in
its own time zone, Europe/London by default) and its bank holidays. `due_at` turns a start
instant and a `Timescale` into a due instant:

* ``wall_clock``: start + duration, plain elapsed time (computed in UTC, so a change of the
  clocks neither adds nor loses an hour);
* ``working_hours``: the duration is consumed only inside opening hours on working days;
  time before opening, after closing, at weekends and on bank holidays does not count;
* ``runs_out_of_hours`` (red): the clock never stops, whatever the mode; the result says
  when the due time falls outside working hours, so the out-of-hours team is named.

Working hours are the closed interval [opening, closing]: a deadline may fall exactly at
closing time (a contact received at 09:00 with 8 working hours is due at 17:00 that day).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from broker.domain.brag import Brag
from broker.domain.errors import DomainError

UTC = dt.UTC
_MAX_DAYS = 3660  # a calendar with no working day in ten years is a configuration error


class InvalidTimescale(DomainError):
    """A timescale table or working calendar that cannot be used; the message says why."""


class Mode(str, enum.Enum):
    WALL_CLOCK = "wall_clock"
    WORKING_HOURS = "working_hours"


@dataclass(frozen=True, slots=True)
class Timescale:
    """How long a contact of one colour has: None means no target (blue)."""

    duration: dt.timedelta | None
    mode: Mode = Mode.WALL_CLOCK
    runs_out_of_hours: bool = False

    def __post_init__(self) -> None:
        if self.duration is not None and self.duration <= dt.timedelta(0):
            raise InvalidTimescale("a timescale's duration must be positive (or absent: no target)")

    def describe(self) -> str:
        if self.duration is None:
            return "no target"
        hours = self.duration.total_seconds() / 3600
        amount = f"{hours:g} h" if hours < 24 * 365 else str(self.duration)
        kind = "working" if self.mode is Mode.WORKING_HOURS else "elapsed"
        extra = ", runs out of hours" if self.runs_out_of_hours else ""
        return f"{amount} {kind}{extra}"


@dataclass(frozen=True, slots=True)
class TimescaleTable:
    """One authority's timescale for each colour."""

    red: Timescale
    amber: Timescale
    green: Timescale
    blue: Timescale

    def for_brag(self, brag: Brag) -> Timescale:
        return {Brag.RED: self.red, Brag.AMBER: self.amber, Brag.GREEN: self.green, Brag.BLUE: self.blue}[brag]

    def as_dict(self) -> dict[Brag, Timescale]:
        return {brag: self.for_brag(brag) for brag in Brag}


# Surrey Police triage (MASH.md §1.3): red 4 working h (and, as in Luton, red runs out of
# hours), amber 24 working h, green 72 h, blue no target. The shipped config file repeats
# these; an authority changes its own file, not this code.
DEFAULT_TABLE = TimescaleTable(
    red=Timescale(dt.timedelta(hours=4), Mode.WORKING_HOURS, runs_out_of_hours=True),
    amber=Timescale(dt.timedelta(hours=24), Mode.WORKING_HOURS),
    green=Timescale(dt.timedelta(hours=72), Mode.WALL_CLOCK),
    blue=Timescale(None),
)


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    """An authority's working week, opening hours (local time) and bank holidays."""

    timezone: str = "Europe/London"
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0 ... Sunday = 6
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)
    bank_holidays: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except Exception as error:  # ZoneInfoNotFoundError, ValueError
            raise InvalidTimescale(f"unknown time zone {self.timezone!r}") from error
        if not self.working_days or not self.working_days <= set(range(7)):
            raise InvalidTimescale("working_days must be a non-empty set of weekdays 0 (Monday) .. 6 (Sunday)")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise InvalidTimescale("opening and closing times are local times without a zone")
        if not self.opens < self.closes:
            raise InvalidTimescale("the calendar must open before it closes on the same day")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() in self.working_days and day not in self.bank_holidays

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """Opening and closing instants (UTC) of `day`, or None when it is not a working day."""
        if not self.is_working_day(day):
            return None
        zone = self.zone
        opens = dt.datetime.combine(day, self.opens, tzinfo=zone).astimezone(UTC)
        closes = dt.datetime.combine(day, self.closes, tzinfo=zone).astimezone(UTC)
        return (opens, closes) if opens < closes else None

    def within_working_hours(self, at: dt.datetime) -> bool:
        """Is `at` inside [opening, closing] of a working day (local time)?"""
        _aware(at)
        window = self.window(at.astimezone(self.zone).date())
        return window is not None and window[0] <= at.astimezone(UTC) <= window[1]

    def next_opening(self, at: dt.datetime) -> dt.datetime:
        """The first instant at or after `at` inside working hours."""
        _aware(at)
        instant = at.astimezone(UTC)
        day = instant.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS):
            window = self.window(day)
            if window is not None and instant <= window[1]:
                return max(instant, window[0])
            day += dt.timedelta(days=1)
        raise InvalidTimescale("the working calendar has no working day within ten years")

    def add_working_time(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """`start` plus `duration` counted only inside working hours (UTC result)."""
        _aware(start)
        if duration < dt.timedelta(0):
            raise InvalidTimescale("a duration cannot be negative")
        cursor = start.astimezone(UTC)
        if duration == dt.timedelta(0):
            return cursor
        remaining = duration
        day = cursor.astimezone(self.zone).date()
        for _ in range(_MAX_DAYS * 2):
            window = self.window(day)
            if window is not None and cursor <= window[1]:
                begin = max(cursor, window[0])
                available = window[1] - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += dt.timedelta(days=1)
        raise InvalidTimescale("the working calendar has no working day within ten years")


@dataclass(frozen=True, slots=True)
class Due:
    """When something is due, and how that was worked out (shown to the manager)."""

    at: dt.datetime
    basis: str  # wall_clock | working_hours | out_of_hours
    outside_working_hours: bool


def _aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidTimescale("times must carry a time zone")


def due_at(start: dt.datetime, timescale: Timescale, calendar: WorkingCalendar) -> Due | None:
    """When something started at `start` under `timescale` is due, or None with no target."""
    _aware(start)
    if timescale.duration is None:
        return None
    instant = start.astimezone(UTC)
    if timescale.mode is Mode.WALL_CLOCK or timescale.runs_out_of_hours:
        at = instant + timescale.duration
        basis = "out_of_hours" if timescale.runs_out_of_hours else "wall_clock"
    else:
        at = calendar.add_working_time(instant, timescale.duration)
        basis = "working_hours"
    return Due(at=at, basis=basis, outside_working_hours=not calendar.within_working_hours(at))


def due_for_brag(
    start: dt.datetime, brag: Brag, table: TimescaleTable, calendar: WorkingCalendar
) -> Due | None:
    """The due time of a contact received at `start` and rated `brag` (recomputed on re-rating)."""
    return due_at(start, table.for_brag(brag), calendar)


def parse_bank_holidays(days: Iterable[str]) -> frozenset[dt.date]:
    """ISO dates (YYYY-MM-DD) to a set; InvalidTimescale naming the first bad one."""
    parsed: set[dt.date] = set()
    for text in days:
        try:
            parsed.add(dt.date.fromisoformat(text))
        except (TypeError, ValueError) as error:
            raise InvalidTimescale(f"bank holiday {text!r} is not a date (YYYY-MM-DD)") from error
    return frozenset(parsed)


@dataclass(frozen=True, slots=True)
class Authority:
    """One local authority's front-door configuration."""

    authority_id: str
    name: str
    calendar: WorkingCalendar
    timescales: TimescaleTable
    feedback: Timescale  # how soon the referrer hears the outcome after the decision

    def feedback_due(self, decided_at: dt.datetime) -> Due | None:
        return due_at(decided_at, self.feedback, self.calendar)


def table_from_mapping(entries: Mapping[Brag, Timescale]) -> TimescaleTable:
    missing = [b.value for b in Brag if b not in entries]
    if missing:
        raise InvalidTimescale(f"the timescale table has no entry for {', '.join(missing)}")
    return TimescaleTable(red=entries[Brag.RED], amber=entries[Brag.AMBER],
                          green=entries[Brag.GREEN], blue=entries[Brag.BLUE])
