"""Render the education records as school MIS-style CSV exports.

`pupils.csv` has one row per pupil on roll, or recently off roll when the pupil is
missing education. `events.csv` holds suspensions, permanent exclusions and DSL
concern logs, keyed by the MIS admission number (`pupil_id`) rather than the
UPN, which not every pupil has on record. Dates are dd/mm/yyyy, as MIS exports
write them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from adapters.education.source import EVENT_COLUMNS, PUPIL_COLUMNS
from adapters.synthetic import places
from adapters.synthetic.model import Cohort


def render(cohort: Cohort) -> dict[str, str]:
    """File name -> CSV text for pupils.csv and events.csv."""
    pupils, events = [], []
    for record in sorted(cohort.education, key=lambda r: r.pupil_id):
        person = cohort.person(record.person_id)
        home = cohort.household(person.household_id)
        school = places.school(record.school_code)
        pupils.append(
            (
                record.pupil_id,
                person.upn if record.record_upn else "",
                record.surname_override or person.family_name,
                person.given_name,
                _date(person.date_of_birth),
                "F" if person.sex == "female" else "M",
                record.postcode_override or home.postcode,
                school.urn,
                school.name,
                record.year_group,
                _date(record.on_roll_since),
                "" if record.attendance_pct is None else f"{record.attendance_pct:.1f}",
                _date(cohort.reference_date),
                record.sen_provision,
                _date(record.sen_since),
                "Y" if record.cme_since else "N",
                _date(record.cme_since),
            )
        )
        events.extend(
            (
                e.event_ref,
                record.pupil_id,
                e.event_type,
                _date(e.event_on),
                "" if e.days is None else str(e.days),
                e.severity or "",
                e.summary,
            )
            for e in sorted(record.events, key=lambda e: (e.event_on, e.event_ref))
        )
    return {
        "pupils.csv": _csv(PUPIL_COLUMNS, pupils),
        "events.csv": _csv(EVENT_COLUMNS, sorted(events)),
    }


def _date(value: dt.date | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
