"""Education adapter: search the school export for every subject and say what to share.

Only the categories named in the request are shared. The partner BRAG is worked
out from the findings returned, never from records held back. "Recent" means
within 12 months of the request's `issued_at`.

BRAG:
- red: a recent high-level DSL concern (e.g. an injury or a disclosure).
- amber: a recent medium-level DSL concern; any older high-level one; a child
  missing education; attendance below 50% (severe absence); a recent permanent
  exclusion.
- green: attendance below 90% (persistent absence); a recent low-level DSL
  concern; any older medium-level one; a recent suspension; an older permanent
  exclusion.
- blue: attendance of 90% or more, SEN support or an EHC plan, older
  suspensions, older low-level DSL concerns.

Dissemination: DSL concern logs are mash_only, because they hold children's own
words. Everything else is summary_safe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from adapters.education import source
from adapters.education.source import DEFAULT_DATA_DIR, Pupil
from adapters.sdk.answers import Hit, best_per_record, hit, to_answer
from adapters.sdk.matching import best_match
from adapters.sdk.messages import Answer, Brag, Match, PartnerRequest

ATTENDANCE = "education.attendance"
EXCLUSIONS = "education.exclusions"
SEN = "education.sen"
CME = "education.cme"
DSL_CONCERNS = "education.dsl_concerns"
CATEGORIES = frozenset({ATTENDANCE, EXCLUSIONS, SEN, CME, DSL_CONCERNS})

MIS = "School MIS"
SAFEGUARDING_LOG = "School safeguarding log"
_SEN_NAMES = {"K": "SEN support", "E": "EHC plan"}
# DSL concern severity -> (level if recent, level if older).
_DSL_LEVELS: dict[str, tuple[Brag, Brag]] = {
    "high": ("red", "amber"),
    "medium": ("amber", "green"),
    "low": ("green", "blue"),
}


def make_search(data_dir: Path | None = None) -> Callable[[PartnerRequest], Awaitable[Answer]]:
    """Load the export once and return the adapter's async search function."""
    pupils = source.load(data_dir or DEFAULT_DATA_DIR)

    async def search(request: PartnerRequest) -> Answer:
        return answer(pupils, request)

    return search


def answer(pupils: list[Pupil], request: PartnerRequest) -> Answer:
    """The education answer to `request` (synchronous core of `search`)."""
    wanted = CATEGORIES.intersection(request.categories)
    as_of = request.issued_at.date()
    found: list[Hit] = []
    for pupil in pupils if wanted else ():
        match = best_match(pupil.keys, request.subjects)
        if match is not None:
            found.extend(_hits(pupil, match, wanted, as_of))
    # Duplicate pupil rows for one child can carry the same record: keep the best.
    return to_answer(best_per_record(found))


def _hits(pupil: Pupil, match: Match, wanted: frozenset[str], as_of: dt.date) -> Iterator[Hit]:
    for category in sorted(wanted):
        yield from _BUILDERS[category](pupil, match, as_of)


def _where(pupil: Pupil) -> str:
    return f"{pupil.school_name}, Year {pupil.year_group}"


def _ref(pupil: Pupil) -> str:
    return f"URN {pupil.school_urn} adm {pupil.pupil_id}"


def _recent(day: dt.date, as_of: dt.date) -> bool:
    return (as_of - day).days <= 365


def _attendance(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[Hit]:
    if pupil.attendance_pct is None:
        return
    pct, to = pupil.attendance_pct, pupil.attendance_to or as_of
    level, reason, note = _rate_attendance(pct)
    yield hit(
        match,
        category=ATTENDANCE,
        day=to,
        summary=f"Attendance {pct:.1f}% this academic year to {to.isoformat()} "
        f"({_where(pupil)}).{note}",
        system=MIS,
        reference=f"{_ref(pupil)} attendance",
        sos_domain="worry" if pct < 90 else "working_well" if pct >= 95 else "complicating_factor",
        dissemination="summary_safe",
        level=level,
        reason=reason,
    )


def _cme(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[Hit]:
    if pupil.cme_since is None:
        return
    yield hit(
        match,
        category=CME,
        day=pupil.cme_since,
        summary=f"Child missing education: off roll at {pupil.school_name} since "
        f"{pupil.cme_since.isoformat()} with no known destination; referred to the LA.",
        system=MIS,
        reference=f"{_ref(pupil)} CME",
        sos_domain="worry",
        dissemination="summary_safe",
        level="amber",
        reason="child missing education",
    )


def _sen(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[Hit]:
    name = _SEN_NAMES.get(pupil.sen_provision)
    if name is None:
        return
    since = f" since {pupil.sen_since.isoformat()}" if pupil.sen_since else ""
    yield hit(
        match,
        category=SEN,
        day=pupil.sen_since or pupil.attendance_to or as_of,
        summary=f"{name}{since} ({_where(pupil)}).",
        system=MIS,
        reference=f"{_ref(pupil)} SEN",
        sos_domain="complicating_factor",
        dissemination="summary_safe",
        level="blue",
        reason="SEN support or EHC plan recorded",
    )


def _dsl_concerns(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[Hit]:
    for event in pupil.events:
        if event.event_type != "dsl_concern":
            continue
        severity = event.severity or "low"
        if_recent, if_older = _DSL_LEVELS.get(severity, ("green", "blue"))
        recent = _recent(event.event_on, as_of)
        yield hit(
            match,
            category=DSL_CONCERNS,
            day=event.event_on,
            summary=f"DSL concern ({severity}): {event.summary}",
            system=SAFEGUARDING_LOG,
            reference=f"{_ref(pupil)} {event.event_ref}",
            sos_domain="worry",
            # Concern logs record children's own words: for the MASH, not the summary.
            dissemination="mash_only",
            level=if_recent if recent else if_older,
            reason=f"{severity}-level DSL concern" + (" within 12 months" if recent else ""),
        )


def _exclusions(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[Hit]:
    for event in pupil.events:
        if event.event_type not in {"suspension", "permanent_exclusion"}:
            continue
        permanent = event.event_type == "permanent_exclusion"
        level, reason = _rate_exclusion(permanent, _recent(event.event_on, as_of))
        what = "Permanent exclusion" if permanent else f"Suspension ({event.days or '?'} day(s))"
        yield hit(
            match,
            category=EXCLUSIONS,
            day=event.event_on,
            summary=f"{what}: {event.summary}",
            system=MIS,
            reference=f"{_ref(pupil)} {event.event_ref}",
            sos_domain="worry" if permanent else "complicating_factor",
            dissemination="summary_safe",
            level=level,
            reason=reason,
        )


_BUILDERS: dict[str, Callable[[Pupil, Match, dt.date], Iterator[Hit]]] = {
    ATTENDANCE: _attendance,
    CME: _cme,
    SEN: _sen,
    DSL_CONCERNS: _dsl_concerns,
    EXCLUSIONS: _exclusions,
}


def _rate_attendance(pct: float) -> tuple[Brag, str, str]:
    if pct < 50:
        return "amber", "severe absence (attendance below 50%)", " Severely absent (below 50%)."
    if pct < 90:
        return "green", "persistent absence (attendance below 90%)", " Persistently absent."
    return "blue", "attendance of 90% or more", ""


def _rate_exclusion(permanent: bool, recent: bool) -> tuple[Brag, str]:
    if permanent:
        if recent:
            return "amber", "permanent exclusion within 12 months"
        return "green", "older permanent exclusion"
    if recent:
        return "green", "suspension within 12 months"
    return "blue", "older suspensions"
