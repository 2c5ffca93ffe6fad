"""The synthetic world in memory: people, and what each partner system holds on them.

Source records point at cohort `person_id`s. The renderers turn them into each
partner's own format with its own keys, so an adapter can only find a person the
way a real partner would: by identifier or by name, DOB and postcode.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Literal

Sex = Literal["female", "male"]
Source = Literal["police", "health", "education"]


@dataclass
class Household:
    household_id: str
    address: str
    postcode: str
    previous_postcode: str | None = None


@dataclass
class Person:
    person_id: str
    household_id: str
    relationship: str  # to the household's children, e.g. "mother", "child"
    given_name: str
    family_name: str
    date_of_birth: dt.date
    sex: Sex
    nhs_number: str
    upn: str | None = None
    local_case_id: str | None = None
    pnc_id: str | None = None  # held by police only; not written to the cohort

    @property
    def is_child(self) -> bool:
        return self.relationship in {"child", "sibling"}


# --- police -----------------------------------------------------------------


@dataclass
class Incident:
    storm_log: str
    occurred_on: dt.date
    incident_type: str
    summary: str
    persons: list[tuple[str, str]]  # (person_id, role)
    crime_ref: str | None = None
    is_intelligence: bool = False
    dash_risk: str | None = None  # set when a DASH assessment was completed
    da_ref: str | None = None
    da_summary: str | None = None


@dataclass
class Arrest:
    custody_ref: str
    person_id: str
    arrested_on: dt.date
    offence: str
    offence_group: str
    outcome: str
    summary: str


@dataclass
class Marac:
    marac_ref: str
    referred_on: dt.date
    meeting_on: dt.date
    reason: str
    summary: str
    persons: list[tuple[str, str]]


@dataclass
class MissingEpisode:
    episode_ref: str
    person_id: str
    reported_on: dt.date
    found_on: dt.date
    risk_grading: str
    summary: str


@dataclass
class PoliceData:
    incidents: list[Incident] = field(default_factory=list)
    arrests: list[Arrest] = field(default_factory=list)
    marac: list[Marac] = field(default_factory=list)
    missing: list[MissingEpisode] = field(default_factory=list)

    def person_ids(self) -> set[str]:
        ids = {pid for i in self.incidents for pid, _ in i.persons}
        ids |= {pid for m in self.marac for pid, _ in m.persons}
        ids |= {a.person_id for a in self.arrests} | {m.person_id for m in self.missing}
        return ids


# --- health -----------------------------------------------------------------


@dataclass
class AeAttendance:
    attendance_no: str
    arrived_on: dt.date
    presentation: str  # injury | illness | self_harm | ingestion
    reason: str
    safeguarding_concern: bool = False  # the ED's safeguarding screen was positive


@dataclass
class HvContact:
    contact_no: str
    contact_on: dt.date
    contact_type: str
    attended: bool


@dataclass
class CpisFlag:
    flag_no: str
    kind: str  # CPP (child protection plan) | LAC (looked after)
    start: dt.date
    end: dt.date | None = None


@dataclass
class CamhsReferral:
    referral_no: str
    referred_on: dt.date
    reason: str
    referrer: str
    accepted_on: dt.date | None = None  # an open episode of care from this date


@dataclass
class HealthRecord:
    person_id: str
    practice_code: str
    registered_on: dt.date
    record_nhs_number: bool = True  # False: e.g. a temporary registration
    postcode_override: str | None = None  # an out-of-date address on the record
    ae: list[AeAttendance] = field(default_factory=list)
    hv: list[HvContact] = field(default_factory=list)
    cpis: list[CpisFlag] = field(default_factory=list)
    camhs: list[CamhsReferral] = field(default_factory=list)


# --- education --------------------------------------------------------------


@dataclass
class SchoolEvent:
    event_ref: str
    event_type: str  # suspension | permanent_exclusion | dsl_concern
    event_on: dt.date
    summary: str
    days: int | None = None
    severity: str | None = None  # dsl_concern: low | medium | high


@dataclass
class PupilRecord:
    person_id: str
    pupil_id: str  # the school MIS admission number
    school_code: str
    year_group: str
    on_roll_since: dt.date
    attendance_pct: float | None
    sen_provision: str = "N"  # N none, K SEN support, E EHC plan
    sen_since: dt.date | None = None
    cme_since: dt.date | None = None
    record_upn: bool = True  # False: e.g. UPN not yet received from the last school
    postcode_override: str | None = None
    surname_override: str | None = None  # how the MIS spells it, e.g. without apostrophe
    events: list[SchoolEvent] = field(default_factory=list)


@dataclass
class Cohort:
    seed: int
    reference_date: dt.date
    households: list[Household] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    police: PoliceData = field(default_factory=PoliceData)
    health: list[HealthRecord] = field(default_factory=list)
    education: list[PupilRecord] = field(default_factory=list)
    scenarios: dict[str, str] = field(default_factory=dict)
    scenario_notes: dict[str, str] = field(default_factory=dict)

    def person(self, person_id: str) -> Person:
        return next(p for p in self.persons if p.person_id == person_id)

    def household(self, household_id: str) -> Household:
        return next(h for h in self.households if h.household_id == household_id)

    def known_to(self, person_id: str) -> list[Source]:
        found: list[Source] = []
        if person_id in self.police.person_ids():
            found.append("police")
        if any(r.person_id == person_id for r in self.health):
            found.append("health")
        if any(r.person_id == person_id for r in self.education):
            found.append("education")
        return found


@dataclass
class Counters:
    """Sequential reference numbers, so refs are unique and stable for a seed."""

    values: dict[str, int] = field(default_factory=dict)

    def next(self, name: str, start: int = 1) -> int:
        self.values[name] = self.values.get(name, start - 1) + 1
        return self.values[name]


@dataclass
class World:
    """A cohort under construction plus the seeded randomness and counters it uses."""

    cohort: Cohort
    rng: random.Random
    counters: Counters = field(default_factory=Counters)

    @property
    def today(self) -> dt.date:
        return self.cohort.reference_date

    def days_ago(self, days: int) -> dt.date:
        return self.today - dt.timedelta(days=days)
