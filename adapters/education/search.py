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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from adapters.education import source
from adapters.education.source import DEFAULT_DATA_DIR, Pupil
from adapters.sdk.matching import best_match
from adapters.sdk.messages import (
    MAX_FINDINGS,
    Answer,
    Brag,
    Finding,
    Match,
    PartnerBrag,
    PartnerRequest,
)

ATTENDANCE = "education.attendance"
EXCLUSIONS = "education.exclusions"
SEN = "education.sen"
CME = "education.cme"
DSL_CONCERNS = "education.dsl_concerns"
CATEGORIES = frozenset({ATTENDANCE, EXCLUSIONS, SEN, CME, DSL_CONCERNS})

MIS = "School MIS"
SAFEGUARDING_LOG = "School safeguarding log"
SosDomain = Literal["worry", "working_well", "complicating_factor"]
Dissemination = Literal["summary_safe", "mash_only", "owner_approval"]
_LEVELS: tuple[Brag, ...] = ("blue", "green", "amber", "red")
_SEN_NAMES = {"K": "SEN support", "E": "EHC plan"}
# DSL concern severity -> (level if recent, level if older).
_DSL_LEVELS: dict[str, tuple[Brag, Brag]] = {
    "high": ("red", "amber"),
    "medium": ("amber", "green"),
    "low": ("green", "blue"),
}


@dataclass(frozen=True, slots=True)
class _Hit:
    finding: Finding
    level: Brag
    reason: str


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
    hits: dict[tuple[str, str, str], _Hit] = {}
    for pupil in pupils if wanted else ():
        match = best_match(pupil.keys, request.subjects)
        if match is None:
            continue
        for hit in _hits(pupil, match, wanted, as_of):
            f = hit.finding
            # Duplicate pupil rows for one child can carry the same record: keep the best.
            key = (f.category, f.source_reference, f.match.subject_ref)
            if key not in hits or f.match.confidence > hits[key].finding.match.confidence:
                hits[key] = hit
    return _answer(list(hits.values()))


def _hits(pupil: Pupil, match: Match, wanted: frozenset[str], as_of: dt.date) -> Iterator[_Hit]:
    for category in sorted(wanted):
        yield from _BUILDERS[category](pupil, match, as_of)


def _where(pupil: Pupil) -> str:
    return f"{pupil.school_name}, Year {pupil.year_group}"


def _ref(pupil: Pupil) -> str:
    return f"URN {pupil.school_urn} adm {pupil.pupil_id}"


def _recent(day: dt.date, as_of: dt.date) -> bool:
    return (as_of - day).days <= 365


def _attendance(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[_Hit]:
    if pupil.attendance_pct is None:
        return
    pct, to = pupil.attendance_pct, pupil.attendance_to or as_of
    level, reason, note = _rate_attendance(pct)
    yield _hit(
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


def _cme(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[_Hit]:
    if pupil.cme_since is None:
        return
    yield _hit(
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


def _sen(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[_Hit]:
    name = _SEN_NAMES.get(pupil.sen_provision)
    if name is None:
        return
    since = f" since {pupil.sen_since.isoformat()}" if pupil.sen_since else ""
    yield _hit(
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


def _dsl_concerns(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[_Hit]:
    for event in pupil.events:
        if event.event_type != "dsl_concern":
            continue
        severity = event.severity or "low"
        if_recent, if_older = _DSL_LEVELS.get(severity, ("green", "blue"))
        recent = _recent(event.event_on, as_of)
        yield _hit(
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


def _exclusions(pupil: Pupil, match: Match, as_of: dt.date) -> Iterator[_Hit]:
    for event in pupil.events:
        if event.event_type not in {"suspension", "permanent_exclusion"}:
            continue
        permanent = event.event_type == "permanent_exclusion"
        level, reason = _rate_exclusion(permanent, _recent(event.event_on, as_of))
        what = "Permanent exclusion" if permanent else f"Suspension ({event.days or '?'} day(s))"
        yield _hit(
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


_BUILDERS: dict[str, Callable[[Pupil, Match, dt.date], Iterator[_Hit]]] = {
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


def _hit(
    match: Match,
    *,
    category: str,
    day: dt.date,
    summary: str,
    system: str,
    reference: str,
    sos_domain: SosDomain,
    dissemination: Dissemination,
    level: Brag,
    reason: str,
) -> _Hit:
    finding = Finding(
        category=category,
        date=day,
        summary=summary[:2000],
        source_system=system,
        source_reference=reference,
        match=match,
        sos_domain=sos_domain,
        dissemination=dissemination,
    )
    return _Hit(finding, level, reason)


def _answer(hits: list[_Hit]) -> Answer:
    if not hits:
        return Answer.no_trace()
    # Newest first; ties in a fixed order so replies are reproducible.
    hits.sort(
        key=lambda h: (
            -h.finding.date.toordinal(),
            h.finding.category,
            h.finding.source_reference,
            h.finding.match.subject_ref,
        )
    )
    level = max((h.level for h in hits), key=_LEVELS.index)
    reasons = dict.fromkeys(h.reason for h in hits if h.level == level)
    rationale = f"{level.capitalize()}: {'; '.join(reasons)}."
    if len(hits) > MAX_FINDINGS:
        rationale += f" Only the {MAX_FINDINGS} most recent of {len(hits)} findings are sent."
    brag = PartnerBrag(rating=level, rationale=rationale[:2000])
    return Answer.with_findings([h.finding for h in hits[:MAX_FINDINGS]], brag)
