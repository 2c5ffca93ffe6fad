"""The school MIS export: `pupils.csv` plus `events.csv`, read once with `csv`.

Dates in the export are dd/mm/yyyy. Events are keyed by the MIS admission
number, because not every pupil has a UPN on record.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from adapters.sdk.matching import RecordKeys

DEFAULT_DATA_DIR = Path(__file__).with_name("data")
PUPILS_FILE = "pupils.csv"
EVENTS_FILE = "events.csv"

# The export's columns, in the order the MIS writes them (the synthetic generator,
# `adapters.synthetic.school_csv`, writes exactly these). The reader looks columns
# up by name, so their order and any extra columns do not matter to it.
PUPIL_COLUMNS = (
    "pupil_id",
    "upn",
    "legal_surname",
    "legal_forename",
    "date_of_birth",
    "gender",
    "postcode",
    "school_urn",
    "school_name",
    "year_group",
    "on_roll_since",
    "attendance_pct",
    "attendance_to",
    "sen_provision",
    "sen_since",
    "cme",
    "cme_since",
)
EVENT_COLUMNS = ("event_ref", "pupil_id", "event_type", "event_date", "days", "severity", "summary")
# Exported but never read (sex is not matched on), so an export may leave it out.
_UNREAD_COLUMNS = frozenset({"gender"})


@dataclass(frozen=True, slots=True)
class SchoolEvent:
    event_ref: str
    event_type: str  # suspension | permanent_exclusion | dsl_concern
    event_on: dt.date
    days: int | None
    severity: str | None
    summary: str


@dataclass(frozen=True, slots=True)
class Pupil:
    pupil_id: str
    keys: RecordKeys
    school_name: str
    school_urn: str
    year_group: str
    attendance_pct: float | None
    attendance_to: dt.date | None
    sen_provision: str  # N none, K SEN support, E EHC plan
    sen_since: dt.date | None
    cme_since: dt.date | None  # set when the pupil is a child missing education
    events: tuple[SchoolEvent, ...]


def load(data_dir: Path = DEFAULT_DATA_DIR) -> list[Pupil]:
    """Every pupil in the export with their events, in file order."""
    events: dict[str, list[SchoolEvent]] = {}
    for row in _rows(data_dir / EVENTS_FILE, EVENT_COLUMNS):
        events.setdefault(row["pupil_id"], []).append(
            SchoolEvent(
                event_ref=row["event_ref"],
                event_type=row["event_type"],
                event_on=_day(row["event_date"]),
                days=int(row["days"]) if row["days"] else None,
                severity=row["severity"] or None,
                summary=row["summary"],
            )
        )
    return [
        Pupil(
            pupil_id=row["pupil_id"],
            keys=RecordKeys(
                given_name=row["legal_forename"],
                family_name=row["legal_surname"],
                date_of_birth=_date(row["date_of_birth"]),
                postcode=row["postcode"] or None,
                upn=row["upn"] or None,
            ),
            school_name=row["school_name"],
            school_urn=row["school_urn"],
            year_group=row["year_group"],
            attendance_pct=float(row["attendance_pct"]) if row["attendance_pct"] else None,
            attendance_to=_date(row["attendance_to"]),
            sen_provision=row["sen_provision"] or "N",
            sen_since=_date(row["sen_since"]),
            cme_since=_date(row["cme_since"]) if row["cme"] == "Y" else None,
            events=tuple(events.get(row["pupil_id"], ())),
        )
        for row in _rows(data_dir / PUPILS_FILE, PUPIL_COLUMNS)
    ]


def _rows(path: Path, columns: Iterable[str]) -> Iterable[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(columns) - _UNREAD_COLUMNS - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path.name}: missing columns {', '.join(sorted(missing))}")
        yield from reader


def _day(value: str) -> dt.date:
    return dt.datetime.strptime(value, "%d/%m/%Y").date()


def _date(value: str) -> dt.date | None:
    return _day(value) if value else None
