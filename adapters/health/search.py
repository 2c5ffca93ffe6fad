"""Health adapter: search the health record for every subject and say what to share.

Only the categories named in the request are shared. The partner BRAG is worked
out from the findings returned, never from records held back. "Recent" means
within 12 months of the request's `issued_at`.

BRAG:
- red: an A&E attendance with a safeguarding concern, recent, for a subject who
  also has an active CP-IS flag (a child on a plan or looked after who is being
  hurt).
- amber: an active CP-IS flag; a recent A&E attendance with a safeguarding
  concern; a recent A&E attendance for self-harm or ingestion.
- green: any other recent A&E attendance; a CP-IS flag that has ended; a recent
  health visiting contact where the child was not brought; a recent CAMHS
  referral or an open CAMHS episode; an older A&E attendance with a
  safeguarding concern.
- blue: GP registration, attended health visiting contacts, older A&E or CAMHS.

Dissemination:
- summary_safe: GP registration, CP-IS, and A&E attendances with a safeguarding
  concern. The receiving team needs these.
- mash_only: other A&E attendances and health visiting contacts.
- owner_approval: CAMHS, which is mental health information that needs the
  service's agreement before it goes further.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from adapters.health import source
from adapters.health.source import DEFAULT_DATA_DIR, PatientRecord
from adapters.sdk.answers import Hit, best_per_record, hit, to_answer
from adapters.sdk.matching import best_match
from adapters.sdk.messages import Answer, Brag, Finding, Match, PartnerRequest

GP_REGISTRATION = "health.gp_registration"
AE_ATTENDANCES = "health.ae_attendances"
CP_IS = "health.cp_is"
HEALTH_VISITING = "health.health_visiting"
CAMHS = "health.camhs"
CATEGORIES = frozenset({GP_REGISTRATION, AE_ATTENDANCES, CP_IS, HEALTH_VISITING, CAMHS})

_SERIOUS_PRESENTATIONS = {"self_harm", "ingestion"}
_RED_REASON = "A&E attendance with a safeguarding concern while an active CP-IS flag is held"


@dataclass(frozen=True, slots=True)
class _HealthHit:
    """A shared `Hit`, plus the facts the red combination rule needs, by subject."""

    hit: Hit
    active_flag: bool = False
    safeguarding_ae: bool = False

    @property
    def finding(self) -> Finding:
        return self.hit.finding


def make_search(data_dir: Path | None = None) -> Callable[[PartnerRequest], Awaitable[Answer]]:
    """Load the bundles once and return the adapter's async search function."""
    patients = source.load(data_dir or DEFAULT_DATA_DIR)

    async def search(request: PartnerRequest) -> Answer:
        return answer(patients, request)

    return search


def answer(patients: list[PatientRecord], request: PartnerRequest) -> Answer:
    """The health answer to `request` (synchronous core of `search`)."""
    wanted = CATEGORIES.intersection(request.categories)
    as_of = request.issued_at.date()
    found: list[_HealthHit] = []
    for patient in patients if wanted else ():
        match = best_match(patient.keys, request.subjects)
        if match is not None:
            found.extend(_hits(patient, match, wanted, as_of))
    # Duplicate registrations for one person can carry the same record: keep the best.
    kept = best_per_record(found)
    return to_answer([h.hit for h in kept], override=_red_combination(kept))


def _hits(
    patient: PatientRecord, match: Match, wanted: frozenset[str], as_of: dt.date
) -> Iterator[_HealthHit]:
    for category in sorted(wanted):
        yield from _BUILDERS[category](patient, match, as_of)


def _recent(day: dt.date, as_of: dt.date) -> bool:
    return (as_of - day).days <= 365


def _gp_registration(patient: PatientRecord, match: Match, as_of: dt.date) -> Iterator[_HealthHit]:
    reg = patient.registration
    # A registration with no date cannot be placed on a timeline, so it is not shared.
    if reg is None or reg.since is None:
        return
    yield _HealthHit(
        hit(
            match,
            category=GP_REGISTRATION,
            day=reg.since,
            summary=f"Registered with {reg.practice} ({reg.ods_code}) "
            f"since {reg.since.isoformat()}.",
            system="GP system",
            reference=f"GP registration {reg.ods_code}",
            sos_domain="working_well",
            dissemination="summary_safe",
            level="blue",
            reason="registered with a GP",
        )
    )


def _cp_is(patient: PatientRecord, match: Match, as_of: dt.date) -> Iterator[_HealthHit]:
    for flag in patient.flags:
        state = "active" if flag.active else "inactive"
        if flag.end is not None and not flag.active:
            state = f"ended {flag.end.isoformat()}"
        yield _HealthHit(
            hit(
                match,
                category=CP_IS,
                day=flag.start,
                summary=f"CP-IS flag: {flag.description}, recorded by {flag.author} from "
                f"{flag.start.isoformat()}; {state}.",
                system="CP-IS (NHS Spine)",
                reference=flag.reference,
                sos_domain="worry",
                dissemination="summary_safe",
                level="amber" if flag.active else "green",
                reason="active CP-IS flag (child protection plan or looked after)"
                if flag.active
                else "CP-IS flag that has ended",
            ),
            active_flag=flag.active,
        )


def _ae_attendances(patient: PatientRecord, match: Match, as_of: dt.date) -> Iterator[_HealthHit]:
    for ae in patient.ae:
        recent = _recent(ae.arrived_on, as_of)
        level, reason = _rate_ae(ae.safeguarding_concern, ae.presentation, recent)
        concern = " Safeguarding concern recorded." if ae.safeguarding_concern else ""
        worrying = ae.safeguarding_concern or ae.presentation != "illness"
        yield _HealthHit(
            hit(
                match,
                category=AE_ATTENDANCES,
                day=ae.arrived_on,
                summary=f"A&E attendance at {ae.provider}: {ae.presentation.replace('_', ' ')}. "
                f"{ae.reason}{concern}",
                system="Emergency department system",
                reference=ae.reference,
                sos_domain="worry" if worrying else "complicating_factor",
                dissemination="summary_safe" if ae.safeguarding_concern else "mash_only",
                level=level,
                reason=reason,
            ),
            safeguarding_ae=ae.safeguarding_concern and recent,
        )


def _health_visiting(patient: PatientRecord, match: Match, as_of: dt.date) -> Iterator[_HealthHit]:
    for hv in patient.hv:
        missed = not hv.attended
        outcome = (hv.outcome or "not attended").lower() if missed else "attended"
        concern = missed and _recent(hv.contact_on, as_of)
        yield _HealthHit(
            hit(
                match,
                category=HEALTH_VISITING,
                day=hv.contact_on,
                summary=f"Health visiting: {hv.contact_type}; {outcome}.",
                system="Community health record",
                reference=hv.reference,
                sos_domain="worry" if missed else "working_well",
                dissemination="mash_only",
                level="green" if concern else "blue",
                reason="health visiting contact not brought within 12 months"
                if concern
                else "routine health visiting contacts",
            )
        )


def _camhs(patient: PatientRecord, match: Match, as_of: dt.date) -> Iterator[_HealthHit]:
    for ref in patient.camhs_referrals:
        recent = _recent(ref.referred_on, as_of)
        yield _HealthHit(
            hit(
                match,
                category=CAMHS,
                day=ref.referred_on,
                summary=f"CAMHS referral by {ref.requester}: {ref.reason}. "
                f"Referral status: {ref.status}.",
                system="CAMHS record",
                reference=ref.reference,
                sos_domain="worry",
                dissemination="owner_approval",
                level="green" if recent else "blue",
                reason="CAMHS referral within 12 months" if recent else "older CAMHS involvement",
            )
        )
    for ep in patient.camhs_episodes:
        open_now = ep.status == "active"
        yield _HealthHit(
            hit(
                match,
                category=CAMHS,
                day=ep.since,
                summary=f"{'Open to' if open_now else 'Previously open to'} {ep.service} from "
                f"{ep.since.isoformat()}.",
                system="CAMHS record",
                reference=f"{ep.reference} episode",
                sos_domain="working_well",
                dissemination="owner_approval",
                level="green" if open_now else "blue",
                reason="open to CAMHS" if open_now else "older CAMHS involvement",
            )
        )


_BUILDERS: dict[str, Callable[[PatientRecord, Match, dt.date], Iterator[_HealthHit]]] = {
    GP_REGISTRATION: _gp_registration,
    CP_IS: _cp_is,
    AE_ATTENDANCES: _ae_attendances,
    HEALTH_VISITING: _health_visiting,
    CAMHS: _camhs,
}


def _rate_ae(safeguarding: bool, presentation: str, recent: bool) -> tuple[Brag, str]:
    if safeguarding and recent:
        return "amber", "A&E attendance with a safeguarding concern within 12 months"
    if presentation in _SERIOUS_PRESENTATIONS and recent:
        return "amber", "A&E attendance for self-harm or ingestion within 12 months"
    if recent:
        return "green", "A&E attendance within 12 months"
    if safeguarding:
        return "green", "older A&E attendance with a safeguarding concern"
    return "blue", "only older A&E attendances with no safeguarding concern"


def _red_combination(hits: list[_HealthHit]) -> tuple[Brag, list[str]] | None:
    """Red, whatever each record earns alone, when one subject has an active CP-IS flag
    and a recent A&E attendance with a safeguarding concern; otherwise None."""
    flagged = {h.finding.match.subject_ref for h in hits if h.active_flag}
    if any(h.safeguarding_ae and h.finding.match.subject_ref in flagged for h in hits):
        return "red", [_RED_REASON]
    return None
