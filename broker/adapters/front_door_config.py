"""Loading the front door's configuration: timescale tables, working calendars and bank
holidays per authority (deploy/config/front_door.json by default), checked strictly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from broker.domain.brag import Brag
from broker.domain.timescales import (
    Authority,
    InvalidTimescale,
    Mode,
    Timescale,
    WorkingCalendar,
    parse_bank_holidays,
    table_from_mapping,
)

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config" / "front_door.json"
_DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimescaleDoc(_Strict):
    duration: dt.timedelta | None
    mode: Literal["wall_clock", "working_hours"] = "wall_clock"
    runs_out_of_hours: bool = False

    def build(self) -> Timescale:
        return Timescale(self.duration, Mode(self.mode), self.runs_out_of_hours)


class CalendarDoc(_Strict):
    timezone: str = "Europe/London"
    working_days: Annotated[list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]], Field(min_length=1)]
    opens: dt.time
    closes: dt.time
    bank_holidays: str | list[str] = Field(
        default_factory=list, description="a file (relative to this config) or a list of ISO dates"
    )


class AuthorityDoc(_Strict):
    name: str
    calendar: CalendarDoc
    timescales: dict[Literal["red", "amber", "green", "blue"], TimescaleDoc]
    referrer_feedback: TimescaleDoc

    @field_validator("timescales")
    @classmethod
    def _every_colour(cls, value: dict[str, TimescaleDoc]) -> dict[str, TimescaleDoc]:
        missing = sorted({"red", "amber", "green", "blue"} - set(value))
        if missing:
            raise ValueError(f"no timescale for {', '.join(missing)}")
        return value


class FrontDoorDoc(_Strict):
    description: str | None = None
    default_authority: str
    authorities: dict[str, AuthorityDoc]


def _holidays(source: str | list[str], base: Path) -> frozenset[dt.date]:
    if isinstance(source, list):
        return parse_bank_holidays(source)
    path = (base / source).resolve()
    document = json.loads(path.read_text(encoding="utf-8"))
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise InvalidTimescale(f"{path}: expected {{'events': [{{'date': 'YYYY-MM-DD', ...}}]}}")
    return parse_bank_holidays(str(e.get("date")) for e in events)


def load_authorities(path: Path | None = None) -> tuple[str, dict[str, Authority]]:
    """(default authority id, {authority id: Authority}); InvalidTimescale naming the problem."""
    path = path or DEFAULT_CONFIG
    try:
        doc = FrontDoorDoc.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise InvalidTimescale(f"{path}: {error}") from error
    authorities: dict[str, Authority] = {}
    for authority_id, entry in doc.authorities.items():
        calendar = WorkingCalendar(
            timezone=entry.calendar.timezone,
            working_days=frozenset(_DAYS[d] for d in entry.calendar.working_days),
            opens=entry.calendar.opens,
            closes=entry.calendar.closes,
            bank_holidays=_holidays(entry.calendar.bank_holidays, path.parent),
        )
        table = table_from_mapping({Brag(colour): t.build() for colour, t in entry.timescales.items()})
        authorities[authority_id] = Authority(
            authority_id=authority_id, name=entry.name, calendar=calendar, timescales=table,
            feedback=entry.referrer_feedback.build(),
        )
    if doc.default_authority not in authorities:
        raise InvalidTimescale(f"{path}: default_authority {doc.default_authority!r} is not configured")
    return doc.default_authority, authorities


def load_authority(path: Path | None = None, authority_id: str | None = None) -> Authority:
    default, authorities = load_authorities(path)
    chosen = authority_id or default
    if chosen not in authorities:
        raise InvalidTimescale(f"authority {chosen!r} is not configured (known: {', '.join(sorted(authorities))})")
    return authorities[chosen]
