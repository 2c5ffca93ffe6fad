"""Small constructors that file a record with the right partner and a fresh reference."""

from __future__ import annotations

import datetime as dt

from adapters.synthetic import places, refs
from adapters.synthetic.model import (
    AeAttendance,
    Arrest,
    CamhsReferral,
    CpisFlag,
    HealthRecord,
    HvContact,
    Incident,
    Marac,
    MissingEpisode,
    Person,
    PupilRecord,
    SchoolEvent,
    World,
)
from adapters.synthetic.people import phase, school_year, year_label

# --- police -----------------------------------------------------------------


def incident(
    world: World,
    day: dt.date,
    incident_type: str,
    summary: str,
    persons: list[tuple[Person, str]],
    *,
    crime: bool = False,
    intelligence: bool = False,
) -> Incident:
    record = Incident(
        storm_log=refs.storm_log(world, day),
        occurred_on=day,
        incident_type=incident_type,
        summary=summary,
        persons=[(p.person_id, role) for p, role in persons],
        crime_ref=refs.crime_ref(world, day) if crime else None,
        is_intelligence=intelligence,
    )
    world.cohort.police.incidents.append(record)
    return record


def domestic(
    world: World,
    day: dt.date,
    dash_risk: str,
    summary: str,
    da_summary: str,
    persons: list[tuple[Person, str]],
) -> Incident:
    """A domestic incident with its DASH risk assessment."""
    record = incident(world, day, "domestic", summary, persons, crime=dash_risk != "standard")
    record.dash_risk = dash_risk
    record.da_ref = refs.da_ref(world, day)
    record.da_summary = da_summary
    return record


def arrest(
    world: World, person: Person, day: dt.date, offence: str, group: str, outcome: str, summary: str
) -> Arrest:
    record = Arrest(
        refs.custody_ref(world, day), person.person_id, day, offence, group, outcome, summary
    )
    world.cohort.police.arrests.append(record)
    return record


def marac(
    world: World,
    referred_on: dt.date,
    reason: str,
    summary: str,
    persons: list[tuple[Person, str]],
) -> Marac:
    # MARACs in most areas sit every two to four weeks.
    meeting_on = referred_on + dt.timedelta(days=14)
    record = Marac(
        refs.marac_ref(world, referred_on),
        referred_on,
        meeting_on,
        reason,
        summary,
        [(p.person_id, role) for p, role in persons],
    )
    world.cohort.police.marac.append(record)
    return record


def missing(
    world: World, person: Person, day: dt.date, hours: int, risk: str, summary: str
) -> MissingEpisode:
    found_on = (dt.datetime.combine(day, dt.time(18)) + dt.timedelta(hours=hours)).date()
    record = MissingEpisode(
        refs.missing_ref(world, day), person.person_id, day, found_on, risk, summary
    )
    world.cohort.police.missing.append(record)
    return record


# --- health -----------------------------------------------------------------


def registration(
    world: World, person: Person, registered_on: dt.date, *, with_nhs_number: bool = True
) -> HealthRecord:
    practice = world.rng.choice(places.GP_PRACTICES)
    record = HealthRecord(
        person_id=person.person_id,
        practice_code=practice.code,
        registered_on=max(registered_on, person.date_of_birth),
        record_nhs_number=with_nhs_number,
    )
    world.cohort.health.append(record)
    return record


def ae(
    world: World,
    record: HealthRecord,
    day: dt.date,
    presentation: str,
    reason: str,
    *,
    safeguarding: bool = False,
) -> None:
    ref = refs.ae_attendance(world, day)
    record.ae.append(AeAttendance(ref, day, presentation, reason, safeguarding))


def hv(world: World, record: HealthRecord, day: dt.date, contact_type: str, attended: bool) -> None:
    record.hv.append(HvContact(refs.hv_contact(world), day, contact_type, attended))


def cpis(
    world: World, record: HealthRecord, kind: str, start: dt.date, end: dt.date | None = None
) -> None:
    record.cpis.append(CpisFlag(refs.cpis_flag(world), kind, start, end))


def camhs(
    world: World,
    record: HealthRecord,
    day: dt.date,
    reason: str,
    referrer: str,
    accepted_on: dt.date | None,
) -> None:
    ref = refs.camhs_referral(world, day)
    record.camhs.append(CamhsReferral(ref, day, reason, referrer, accepted_on))


# --- education --------------------------------------------------------------


def pupil(
    world: World,
    person: Person,
    attendance_pct: float | None,
    *,
    school_code: str | None = None,
    on_roll_since: dt.date | None = None,
) -> PupilRecord:
    """Put a school-age child on roll at a school of the right phase."""
    year = school_year(person.date_of_birth, world.today)
    assert year is not None, "only school-age children are on a school roll"
    if school_code is None:
        choices = [s for s in places.SCHOOLS if s.phase == phase(year)]
        school_code = world.rng.choice(choices).code
    start_year = world.today.year if world.today.month >= 9 else world.today.year - 1
    # Primary pupils joined in Reception, secondary pupils in Year 7.
    joined_year = start_year - (year if year <= 6 else year - 7)
    record = PupilRecord(
        person_id=person.person_id,
        pupil_id=refs.admission_no(world, school_code),
        school_code=school_code,
        year_group=year_label(year),
        on_roll_since=on_roll_since or dt.date(joined_year, 9, 4),
        attendance_pct=attendance_pct,
    )
    world.cohort.education.append(record)
    return record


def school_event(
    world: World,
    record: PupilRecord,
    event_type: str,
    day: dt.date,
    summary: str,
    *,
    days: int | None = None,
    severity: str | None = None,
) -> None:
    ref = refs.school_event(world, event_type)
    record.events.append(SchoolEvent(ref, event_type, school_day(day), summary, days, severity))


def school_day(day: dt.date) -> dt.date:
    """The nearest earlier weekday in term: schools log nothing at weekends or in August."""
    if day.month == 8:
        day = day.replace(month=7, day=21)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day
