"""The police records system: a SQL script loaded once into in-memory SQLite.

Read-only after loading. Queries return small typed rows. Deciding who matches
and what to share belongs to `search`.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.sdk.matching import RecordKeys
from adapters.sdk.messages import RequestSubject

DEFAULT_DATA_DIR = Path(__file__).with_name("data")
SCRIPT_NAME = "police.sql"


@dataclass(frozen=True, slots=True)
class Nominal:
    """A person on the police system and the fields used to match them."""

    nominal_ref: str
    keys: RecordKeys


@dataclass(frozen=True, slots=True)
class IncidentRow:
    storm_log: str
    crime_ref: str | None
    occurred_on: dt.date
    incident_type: str
    is_intelligence: bool
    summary: str
    role: str


@dataclass(frozen=True, slots=True)
class DomesticAbuseRow:
    da_ref: str
    storm_log: str
    crime_ref: str | None
    occurred_on: dt.date
    dash_risk: str
    children_present: int
    incident_summary: str
    assessment_summary: str
    role: str


@dataclass(frozen=True, slots=True)
class ArrestRow:
    custody_ref: str
    arrested_on: dt.date
    offence: str
    offence_group: str
    outcome: str
    summary: str


@dataclass(frozen=True, slots=True)
class MaracRow:
    marac_ref: str
    referred_on: dt.date
    meeting_on: dt.date
    reason: str
    summary: str
    role: str


@dataclass(frozen=True, slots=True)
class MissingRow:
    episode_ref: str
    reported_on: dt.date
    found_on: dt.date
    risk_grading: str
    summary: str


class PoliceSource:
    """Queries over one loaded copy of the police data."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def load(cls, data_dir: Path = DEFAULT_DATA_DIR) -> PoliceSource:
        script = (data_dir / SCRIPT_NAME).read_text(encoding="utf-8")
        # check_same_thread=False: the runner may call search from another thread;
        # the database is never written after this point.
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.executescript(script)
        db.row_factory = sqlite3.Row
        return cls(db)

    def candidates(self, subjects: Sequence[RequestSubject]) -> list[Nominal]:
        """Nominals sharing a DOB or case reference with any subject (matching decides)."""
        dobs = sorted({s.date_of_birth.isoformat() for s in subjects if s.date_of_birth})
        case_ids = sorted({s.local_case_id.strip().casefold() for s in subjects if s.local_case_id})
        if not dobs and not case_ids:
            return []
        rows = self._db.execute(
            f"SELECT * FROM persons WHERE date_of_birth IN ({_marks(dobs)})"
            f" OR lower(trim(csc_ref)) IN ({_marks(case_ids)}) ORDER BY nominal_ref",
            [*dobs, *case_ids],
        )
        return [
            Nominal(
                nominal_ref=r["nominal_ref"],
                keys=RecordKeys(
                    given_name=r["forenames"],
                    family_name=r["surname"],
                    date_of_birth=_date(r["date_of_birth"]),
                    postcode=r["postcode"],
                    pnc_id=r["pnc_id"],
                    local_case_id=r["csc_ref"],
                ),
            )
            for r in rows
        ]

    def incidents(self, nominal_ref: str) -> list[IncidentRow]:
        """Incidents linked to the nominal, except domestic ones (see `domestic_abuse`)."""
        rows = self._db.execute(
            "SELECT i.*, ip.role FROM incidents i"
            " JOIN incident_persons ip ON ip.storm_log = i.storm_log"
            " LEFT JOIN domestic_abuse d ON d.storm_log = i.storm_log"
            " WHERE ip.nominal_ref = ? AND d.da_ref IS NULL ORDER BY i.storm_log",
            (nominal_ref,),
        )
        return [
            IncidentRow(
                r["storm_log"],
                r["crime_ref"],
                _day(r["occurred_on"]),
                r["incident_type"],
                bool(r["is_intelligence"]),
                r["summary"],
                r["role"],
            )
            for r in rows
        ]

    def domestic_abuse(self, nominal_ref: str) -> list[DomesticAbuseRow]:
        rows = self._db.execute(
            "SELECT d.*, i.crime_ref, i.occurred_on, i.summary AS incident_summary, ip.role"
            " FROM domestic_abuse d JOIN incidents i ON i.storm_log = d.storm_log"
            " JOIN incident_persons ip ON ip.storm_log = d.storm_log"
            " WHERE ip.nominal_ref = ? ORDER BY d.da_ref",
            (nominal_ref,),
        )
        return [
            DomesticAbuseRow(
                r["da_ref"],
                r["storm_log"],
                r["crime_ref"],
                _day(r["occurred_on"]),
                r["dash_risk"],
                r["children_present"],
                r["incident_summary"],
                r["summary"],
                r["role"],
            )
            for r in rows
        ]

    def arrests(self, nominal_ref: str) -> list[ArrestRow]:
        rows = self._db.execute(
            "SELECT * FROM arrests WHERE nominal_ref = ? ORDER BY custody_ref", (nominal_ref,)
        )
        return [
            ArrestRow(
                r["custody_ref"],
                _day(r["arrested_on"]),
                r["offence"],
                r["offence_group"],
                r["outcome"],
                r["summary"],
            )
            for r in rows
        ]

    def marac(self, nominal_ref: str) -> list[MaracRow]:
        rows = self._db.execute(
            "SELECT m.*, mp.role FROM marac_referrals m"
            " JOIN marac_persons mp ON mp.marac_ref = m.marac_ref"
            " WHERE mp.nominal_ref = ? ORDER BY m.marac_ref",
            (nominal_ref,),
        )
        return [
            MaracRow(
                r["marac_ref"],
                _day(r["referred_on"]),
                _day(r["meeting_on"]),
                r["reason"],
                r["summary"],
                r["role"],
            )
            for r in rows
        ]

    def missing(self, nominal_ref: str) -> list[MissingRow]:
        rows = self._db.execute(
            "SELECT * FROM missing_episodes WHERE nominal_ref = ? ORDER BY episode_ref",
            (nominal_ref,),
        )
        return [
            MissingRow(
                r["episode_ref"],
                _day(r["reported_on"]),
                _day(r["found_on"]),
                r["risk_grading"],
                r["summary"],
            )
            for r in rows
        ]


def _marks(values: Iterable[str]) -> str:
    # An empty IN () is a syntax error in SQLite; NULL never equals anything.
    return ", ".join("?" for _ in values) or "NULL"


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _date(value: str | None) -> dt.date | None:
    return _day(value) if value else None
