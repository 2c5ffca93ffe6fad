"""Police adapter: search the police records for every subject and say what to share.

Every subject in the request is searched: the child and each household member.
Records are shared only in the categories the request names. Each record becomes
one finding per matched subject. The partner BRAG is worked out from the
findings actually returned, so a rating never hints at a category that was not
asked for.

BRAG. The rating is the highest that any finding earns; "recent" is measured
back from the request's `issued_at`.
- red: a high-risk DASH assessment or a MARAC referral within 12 months.
- amber: a medium-risk DASH assessment, or an arrest for a violent or sexual
  offence, within 12 months; a missing episode within 6 months; intelligence
  within 12 months; any older high-risk DASH or MARAC.
- green: any other domestic abuse or missing episode, a concern for welfare, or
  any incident or arrest within 3 years.
- blue: only incidents or non-violent arrests older than 3 years.

Dissemination:
- summary_safe: high-risk DASH, missing episodes and concerns for welfare. These
  are facts the receiving service needs.
- mash_only: lower-risk DASH, MARAC referrals (the fact of referral, not the
  minutes), arrests, and other incidents.
- owner_approval: intelligence, which may not leave police without agreement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from adapters.police.source import DEFAULT_DATA_DIR, PoliceSource
from adapters.sdk.answers import Dissemination, Hit, best_per_record, hit, to_answer
from adapters.sdk.matching import best_match
from adapters.sdk.messages import Answer, Brag, Match, PartnerRequest

INCIDENTS = "police.incidents"
DOMESTIC_ABUSE = "police.domestic_abuse"
ARRESTS = "police.arrests"
MARAC = "police.marac"
MISSING = "police.missing_episodes"
CATEGORIES = frozenset({INCIDENTS, DOMESTIC_ABUSE, ARRESTS, MARAC, MISSING})

SYSTEM = "Niche RMS"
_ROLES = {"child_present": "child present", "subject": "subject of the report"}
_SERIOUS_OFFENCES = {"violence", "sexual"}
_WORRYING_INCIDENTS = {"concern_for_welfare", "intelligence"}


def make_search(data_dir: Path | None = None) -> Callable[[PartnerRequest], Awaitable[Answer]]:
    """Load the police data once and return the adapter's async search function."""
    source = PoliceSource.load(data_dir or DEFAULT_DATA_DIR)

    async def search(request: PartnerRequest) -> Answer:
        return answer(source, request)

    return search


def answer(source: PoliceSource, request: PartnerRequest) -> Answer:
    """The police answer to `request` (synchronous core of `search`)."""
    wanted = CATEGORIES.intersection(request.categories)
    as_of = request.issued_at.date()
    found: list[Hit] = []
    for nominal in source.candidates(request.subjects) if wanted else ():
        match = best_match(nominal.keys, request.subjects)
        if match is not None:
            found.extend(_hits(source, nominal.nominal_ref, match, wanted, as_of))
    # Duplicate nominals for one person can link to the same record: keep the best.
    return to_answer(best_per_record(found))


def _hits(
    source: PoliceSource, nominal_ref: str, match: Match, wanted: frozenset[str], as_of: dt.date
) -> Iterator[Hit]:
    for category in sorted(wanted):
        yield from _BUILDERS[category](source, nominal_ref, match, as_of)


def _domestic_abuse(
    source: PoliceSource, nominal_ref: str, match: Match, as_of: dt.date
) -> Iterator[Hit]:
    for d in source.domestic_abuse(nominal_ref):
        level, reason = _rate_dash(d.dash_risk, (as_of - d.occurred_on).days)
        yield hit(
            match,
            category=DOMESTIC_ABUSE,
            day=d.occurred_on,
            summary=f"Domestic abuse incident; subject recorded as {_role(d.role)}. "
            f"DASH risk: {d.dash_risk}. {d.incident_summary} "
            f"Children present: {d.children_present}.",
            system="Niche RMS (DASH)",
            reference=f"{d.da_ref} ({d.crime_ref or d.storm_log})",
            sos_domain="worry",
            dissemination="summary_safe" if d.dash_risk == "high" else "mash_only",
            level=level,
            reason=reason,
        )


def _marac(source: PoliceSource, nominal_ref: str, match: Match, as_of: dt.date) -> Iterator[Hit]:
    for m in source.marac(nominal_ref):
        recent = (as_of - m.referred_on).days <= 365
        yield hit(
            match,
            category=MARAC,
            day=m.referred_on,
            summary=f"MARAC referral; subject recorded as {_role(m.role)}. "
            f"Reason: {m.reason}. Heard {m.meeting_on.isoformat()}. {m.summary}",
            system="MARAC coordinator",
            reference=m.marac_ref,
            sos_domain="worry",
            # The fact of referral, not the minutes, which stay with the MARAC.
            dissemination="mash_only",
            level="red" if recent else "amber",
            reason="MARAC referral within the last 12 months"
            if recent
            else "earlier MARAC referral",
        )


def _missing(
    source: PoliceSource, nominal_ref: str, match: Match, as_of: dt.date
) -> Iterator[Hit]:
    for e in source.missing(nominal_ref):
        recent = (as_of - e.reported_on).days <= 182
        yield hit(
            match,
            category=MISSING,
            day=e.reported_on,
            summary=f"Missing episode, {e.risk_grading} risk, reported "
            f"{e.reported_on.isoformat()}, found {e.found_on.isoformat()}. {e.summary}",
            system="Niche RMS (missing persons)",
            reference=e.episode_ref,
            sos_domain="worry",
            dissemination="summary_safe",
            level="amber" if recent else "green",
            reason="missing episode within the last 6 months"
            if recent
            else "earlier missing episode",
        )


def _arrests(
    source: PoliceSource, nominal_ref: str, match: Match, as_of: dt.date
) -> Iterator[Hit]:
    for a in source.arrests(nominal_ref):
        serious = a.offence_group in _SERIOUS_OFFENCES
        level, reason = _rate_arrest(serious, (as_of - a.arrested_on).days)
        yield hit(
            match,
            category=ARRESTS,
            day=a.arrested_on,
            summary=f"Arrest: {a.offence}. Outcome: {a.outcome}. {a.summary}",
            system="Niche RMS (custody)",
            reference=a.custody_ref,
            sos_domain="worry" if serious else "complicating_factor",
            dissemination="mash_only",
            level=level,
            reason=reason,
        )


def _incidents(
    source: PoliceSource, nominal_ref: str, match: Match, as_of: dt.date
) -> Iterator[Hit]:
    for i in source.incidents(nominal_ref):
        age = (as_of - i.occurred_on).days
        level, reason = _rate_incident(i.incident_type, i.is_intelligence, age)
        label = "Intelligence log" if i.is_intelligence else i.incident_type.replace("_", " ")
        worrying = i.incident_type in _WORRYING_INCIDENTS
        yield hit(
            match,
            category=INCIDENTS,
            day=i.occurred_on,
            summary=f"{label.capitalize()}; subject recorded as {_role(i.role)}. {i.summary}",
            system="Niche RMS (intelligence)" if i.is_intelligence else SYSTEM,
            reference=i.crime_ref or i.storm_log,
            sos_domain="worry" if worrying else "complicating_factor",
            dissemination=_incident_dissemination(i.incident_type, i.is_intelligence),
            level=level,
            reason=reason,
        )


_BUILDERS: dict[str, Callable[[PoliceSource, str, Match, dt.date], Iterator[Hit]]] = {
    DOMESTIC_ABUSE: _domestic_abuse,
    MARAC: _marac,
    MISSING: _missing,
    ARRESTS: _arrests,
    INCIDENTS: _incidents,
}


def _rate_dash(risk: str, age_days: int) -> tuple[Brag, str]:
    recent = age_days <= 365
    if risk == "high":
        if recent:
            return "red", "high-risk DASH assessment within the last 12 months"
        return "amber", "earlier high-risk DASH assessment"
    if risk == "medium" and recent:
        return "amber", "medium-risk DASH assessment within the last 12 months"
    return "green", "lower-risk or older domestic abuse incident"


def _rate_arrest(serious: bool, age_days: int) -> tuple[Brag, str]:
    if serious and age_days <= 365:
        return "amber", "arrest for a violent or sexual offence within the last 12 months"
    if serious:
        return "green", "older arrest for a violent or sexual offence"
    if age_days <= 3 * 365:
        return "green", "arrest within the last 3 years"
    return "blue", "only historic arrests for non-violent offences"


def _rate_incident(kind: str, intelligence: bool, age_days: int) -> tuple[Brag, str]:
    if intelligence and age_days <= 365:
        return "amber", "safeguarding intelligence within the last 12 months"
    if kind in _WORRYING_INCIDENTS:
        return "green", "concern for welfare or older intelligence"
    if age_days <= 3 * 365:
        return "green", "incident within the last 3 years"
    return "blue", "only historic incidents with no safeguarding element"


def _incident_dissemination(kind: str, intelligence: bool) -> Dissemination:
    if intelligence:
        return "owner_approval"
    return "summary_safe" if kind == "concern_for_welfare" else "mash_only"


def _role(role: str) -> str:
    return _ROLES.get(role, role)
