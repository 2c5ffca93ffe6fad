"""The reference case-system adapter: allocations read from a file (a sample of the council's
case-management system), matched to the contact's child like partner records are matched.

A real deployment implements the same port (`CaseSystem` in broker/service/front_door_ports.py)
over its case-management system's API.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.sdk.matching import RecordKeys, match_subject
from adapters.sdk.messages import RequestSubject
from broker.adapters.db.mapping import subject_to_json
from broker.domain.contact import AllocatedWorker
from broker.domain.subject import Subject

DEFAULT_ALLOCATIONS = Path(__file__).resolve().parents[2] / "adapters" / "synthetic" / "allocations.json"
UK = ZoneInfo("Europe/London")


@dataclass(frozen=True, slots=True)
class Allocation:
    case_id: str
    worker_id: str
    worker_name: str
    team: str
    allocated_from: dt.date
    allocated_to: dt.date | None
    keys: RecordKeys

    def active_on(self, day: dt.date) -> bool:
        return self.allocated_from <= day and (self.allocated_to is None or day <= self.allocated_to)


class FileCaseSystem:
    """Allocations from a JSON file, loaded once; `allocated_worker` is what the front door asks."""

    def __init__(self, allocations: list[Allocation], *, today: Callable[[], dt.date] | None = None) -> None:
        self._allocations = allocations
        self._today = today or (lambda: dt.datetime.now(UK).date())

    @classmethod
    def load(cls, path: Path | None = None, *, today: Callable[[], dt.date] | None = None) -> FileCaseSystem:
        path = path or DEFAULT_ALLOCATIONS
        document = json.loads(path.read_text(encoding="utf-8"))
        allocations = []
        for entry in document["allocations"]:
            child = entry["child"]
            dob = child.get("date_of_birth")
            allocations.append(Allocation(
                case_id=entry["case_id"], worker_id=entry["worker_id"], worker_name=entry["worker_name"],
                team=entry["team"], allocated_from=dt.date.fromisoformat(entry["allocated_from"]),
                allocated_to=dt.date.fromisoformat(entry["allocated_to"]) if entry.get("allocated_to") else None,
                keys=RecordKeys(
                    given_name=child.get("given_name"), family_name=child.get("family_name"),
                    date_of_birth=dt.date.fromisoformat(dob) if dob else None, postcode=child.get("postcode"),
                    nhs_number=child.get("nhs_number"), upn=child.get("upn"),
                    local_case_id=child.get("local_case_id"),
                ),
            ))
        return cls(allocations, today=today)

    async def allocated_worker(self, subject: Subject, *, on: dt.date | None = None) -> AllocatedWorker | None:
        """The worker allocated to `subject` on `on` (default today, UK), or None.

        Identifier first (an identifier conflict is no match), else name + DOB + postcode; when
        several allocations match, the identifier match and then the latest allocation win.
        """
        day = on or self._today()
        wire = RequestSubject.model_validate(subject_to_json(subject))
        best: tuple[float, dt.date, Allocation, str] | None = None
        for allocation in self._allocations:
            if not allocation.active_on(day):
                continue
            match = match_subject(allocation.keys, wire)
            if match is None:
                continue
            rank = (match.confidence, allocation.allocated_from)
            how = match.identifier_type if match.method == "identifier" else match.method
            if best is None or rank > best[:2]:
                best = (match.confidence, allocation.allocated_from, allocation, str(how))
        if best is None:
            return None
        allocation = best[2]
        return AllocatedWorker(
            worker_id=allocation.worker_id, worker_name=allocation.worker_name, team=allocation.team,
            case_id=allocation.case_id, subject_ref=subject.subject_ref, matched_by=best[3],
        )
