"""Front-door timescales on working calendars: worked examples (bank holidays, weekends, the
change of the clocks, red out of hours) and properties checked with hypothesis."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.adapters.front_door_config import DEFAULT_CONFIG, load_authorities, load_authority
from broker.domain.brag import Brag
from broker.domain.timescales import (
    DEFAULT_TABLE,
    InvalidTimescale,
    Mode,
    Timescale,
    WorkingCalendar,
    due_at,
    due_for_brag,
)

LONDON = ZoneInfo("Europe/London")
AUTHORITY = load_authority()
CALENDAR = AUTHORITY.calendar
H = dt.timedelta(hours=1)


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def working(hours: float) -> Timescale:
    return Timescale(dt.timedelta(hours=hours), Mode.WORKING_HOURS)


def test_shipped_configuration_is_the_surrey_table_with_england_and_wales_bank_holidays() -> None:
    """Red 4 working h running out of hours, amber 24 working h, green 72 h elapsed, blue none;
    the 2026-2027 bank holidays (with substitute days) are loaded from the file."""
    table = AUTHORITY.timescales
    assert table.red == Timescale(4 * H, Mode.WORKING_HOURS, runs_out_of_hours=True)
    assert table.amber == Timescale(24 * H, Mode.WORKING_HOURS)
    assert table.green == Timescale(72 * H, Mode.WALL_CLOCK)
    assert table.blue.duration is None
    assert table == DEFAULT_TABLE
    assert {dt.date(2026, 12, 28), dt.date(2027, 3, 26), dt.date(2027, 12, 27)} <= CALENDAR.bank_holidays
    assert len(CALENDAR.bank_holidays) == 16 and CALENDAR.timezone == "Europe/London"


def test_amber_over_christmas_skips_bank_holidays_and_the_weekend() -> None:
    """Received Thu 24 Dec 2026 10:00: 7 h that day, then Fri 25, the weekend and Mon 28 (substitute
    Boxing Day) do not count; 8 h Tue, 8 h Wed, 1 h Thu: due Thu 31 Dec 10:00."""
    due = due_for_brag(london(2026, 12, 24, 10), Brag.AMBER, AUTHORITY.timescales, CALENDAR)
    assert due is not None and due.basis == "working_hours" and not due.outside_working_hours
    assert due.at.astimezone(LONDON) == london(2026, 12, 31, 10)


def test_a_contact_received_at_the_weekend_starts_counting_on_monday_morning() -> None:
    due = due_at(london(2026, 11, 28, 14), working(8), CALENDAR)
    assert due is not None and due.at.astimezone(LONDON) == london(2026, 11, 30, 17)


def test_working_hours_across_the_change_of_the_clocks_count_real_hours() -> None:
    """Fri 23 Oct 2026 16:00 BST + 24 working h: 1 h Fri, 8 h Mon, 8 h Tue, 7 h Wed: Wed 28 Oct 16:00 GMT."""
    due = due_at(london(2026, 10, 23, 16), working(24), CALENDAR)
    assert due is not None
    assert due.at.astimezone(LONDON) == london(2026, 10, 28, 16)
    assert due.at.astimezone(LONDON).utcoffset() == dt.timedelta(0)


def test_red_runs_out_of_hours_on_the_wall_clock() -> None:
    """Red received Friday 17:30 is due Friday 21:30, flagged as outside working hours."""
    due = due_for_brag(london(2026, 11, 27, 17, 30), Brag.RED, AUTHORITY.timescales, CALENDAR)
    assert due is not None and due.basis == "out_of_hours" and due.outside_working_hours
    assert due.at.astimezone(LONDON) == london(2026, 11, 27, 21, 30)


def test_wall_clock_is_elapsed_time_even_when_the_clocks_change() -> None:
    """Green 72 h from Sat 24 Oct 12:00 BST is Tue 27 Oct 11:00 GMT: 72 real hours."""
    due = due_for_brag(london(2026, 10, 24, 12), Brag.GREEN, AUTHORITY.timescales, CALENDAR)
    assert due is not None and due.basis == "wall_clock"
    assert due.at.astimezone(LONDON) == london(2026, 10, 27, 11)


def test_blue_has_no_target_and_a_deadline_may_land_exactly_at_closing() -> None:
    assert due_for_brag(london(2026, 11, 26, 10), Brag.BLUE, AUTHORITY.timescales, CALENDAR) is None
    due = due_at(london(2026, 11, 26, 9), working(8), CALENDAR)
    assert due is not None and due.at.astimezone(LONDON) == london(2026, 11, 26, 17) and not due.outside_working_hours


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"opens": dt.time(17), "closes": dt.time(9)}, "open before it closes"),
        ({"working_days": frozenset()}, "working_days"),
        ({"working_days": frozenset({7})}, "working_days"),
        ({"timezone": "Europe/Quillsby"}, "unknown time zone"),
    ],
)
def test_a_calendar_that_cannot_work_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(InvalidTimescale, match=message):
        WorkingCalendar(**changes)


def test_non_positive_durations_and_naive_times_are_refused() -> None:
    with pytest.raises(InvalidTimescale, match="positive"):
        Timescale(dt.timedelta(0))
    with pytest.raises(InvalidTimescale, match="time zone"):
        due_at(dt.datetime(2026, 11, 26, 10), working(1), CALENDAR)


def test_a_configuration_missing_a_colour_or_naming_a_bad_holiday_is_refused(tmp_path: Path) -> None:
    document = json.loads(DEFAULT_CONFIG.read_text())
    authority = document["authorities"]["quillsby"]
    authority["calendar"]["bank_holidays"] = ["2026-12-25"]
    del authority["timescales"]["green"]
    path = tmp_path / "front_door.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidTimescale, match="green"):
        load_authorities(path)
    authority["timescales"]["green"] = {"duration": "PT72H"}
    authority["calendar"]["bank_holidays"] = ["25/12/2026"]
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidTimescale, match="25/12/2026"):
        load_authorities(path)
    authority["calendar"]["bank_holidays"] = ["2026-12-25"]
    path.write_text(json.dumps(document))
    _, loaded = load_authorities(path)
    assert loaded["quillsby"].calendar.bank_holidays == frozenset({dt.date(2026, 12, 25)})


# --- properties ---------------------------------------------------------------------------------

starts = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 1),
    timezones=st.just(dt.UTC),
)
durations = st.integers(min_value=1, max_value=200 * 60).map(lambda m: dt.timedelta(minutes=m))
calendars = st.builds(
    WorkingCalendar,
    working_days=st.frozensets(st.integers(0, 6), min_size=1),
    opens=st.sampled_from([dt.time(0, 0), dt.time(7, 30), dt.time(9, 0)]),
    closes=st.sampled_from([dt.time(12, 0), dt.time(17, 0), dt.time(23, 59)]),
    bank_holidays=st.just(CALENDAR.bank_holidays),
)


def working_time_between(calendar: WorkingCalendar, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """A reference count of working time in [start, end], day by day."""
    total = dt.timedelta(0)
    day = start.astimezone(calendar.zone).date() - dt.timedelta(days=1)
    while day <= end.astimezone(calendar.zone).date():
        window = calendar.window(day)
        if window is not None:
            overlap = min(window[1], end) - max(window[0], start)
            total += max(overlap, dt.timedelta(0))
        day += dt.timedelta(days=1)
    return total


@settings(max_examples=300, deadline=None)
@given(start=starts, duration=durations, calendar=calendars)
def test_working_hours_due_is_never_before_start_never_outside_hours_and_uses_exactly_the_duration(
    start: dt.datetime, duration: dt.timedelta, calendar: WorkingCalendar
) -> None:
    due = due_at(start, Timescale(duration, Mode.WORKING_HOURS), calendar)
    assert due is not None
    assert due.at >= start
    assert calendar.within_working_hours(due.at) and not due.outside_working_hours
    assert working_time_between(calendar, start, due.at) == duration


@settings(max_examples=300, deadline=None)
@given(start=starts, duration=durations, flag=st.booleans())
def test_wall_clock_due_is_plain_addition(start: dt.datetime, duration: dt.timedelta, flag: bool) -> None:
    due = due_at(start.astimezone(LONDON), Timescale(duration, Mode.WALL_CLOCK, runs_out_of_hours=flag), CALENDAR)
    assert due is not None and due.at == start + duration


@settings(max_examples=300, deadline=None)
@given(start=starts, first=durations, second=durations, mode=st.sampled_from(list(Mode)))
def test_due_is_monotonic_in_the_duration(start: dt.datetime, first: dt.timedelta, second: dt.timedelta,
                                          mode: Mode) -> None:
    shorter, longer = sorted((first, second))
    a = due_at(start, Timescale(shorter, mode), CALENDAR)
    b = due_at(start, Timescale(longer, mode), CALENDAR)
    assert a is not None and b is not None and a.at <= b.at


@settings(max_examples=200, deadline=None)
@given(start=starts, later=st.integers(0, 10_000).map(lambda m: dt.timedelta(minutes=m)), duration=durations)
def test_due_is_monotonic_in_the_start(start: dt.datetime, later: dt.timedelta, duration: dt.timedelta) -> None:
    a = due_at(start, working(duration.total_seconds() / 3600), CALENDAR)
    b = due_at(start + later, working(duration.total_seconds() / 3600), CALENDAR)
    assert a is not None and b is not None and a.at <= b.at


@settings(max_examples=200, deadline=None)
@given(start=starts, brag=st.sampled_from(list(Brag)))
def test_out_of_hours_red_is_never_later_than_counting_working_hours(start: dt.datetime, brag: Brag) -> None:
    """Running out of hours can only bring a due time forward."""
    table = AUTHORITY.timescales
    timescale = table.for_brag(brag)
    if timescale.duration is None:
        assert due_for_brag(start, brag, table, CALENDAR) is None
        return
    ours = due_at(start, timescale, CALENDAR)
    office = due_at(start, Timescale(timescale.duration, Mode.WORKING_HOURS), CALENDAR)
    assert ours is not None and office is not None
    if timescale.runs_out_of_hours:
        assert ours.at <= office.at
