"""The health record: FHIR R4 collection Bundles read with plain `json`.

Bundles are loaded once. Each Patient is gathered with the resources that point
at it through `subject` or `patient`. References resolve inside the bundle as
"Type/id". Anything that is not a collection Bundle of known resource types is
rejected at load time, so a bad file fails loudly instead of yielding silent
no-traces.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.sdk.matching import RecordKeys

DEFAULT_DATA_DIR = Path(__file__).with_name("data")
BUNDLE_DIR = "bundles"

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
_LOCAL = "https://fhir.quillsby.invalid"
SAFEGUARDING_EXTENSION = f"{_LOCAL}/StructureDefinition/safeguarding-concern"
OUTCOME_EXTENSION = f"{_LOCAL}/StructureDefinition/contact-outcome"

KNOWN_RESOURCES = frozenset(
    {
        "Patient",
        "Organization",
        "EpisodeOfCare",
        "Encounter",
        "Flag",
        "ServiceRequest",
    }
)


class BundleError(ValueError):
    """A file in the bundle directory is not a usable FHIR collection Bundle."""


@dataclass(frozen=True, slots=True)
class Registration:
    practice: str
    ods_code: str
    since: dt.date | None


@dataclass(frozen=True, slots=True)
class AeAttendance:
    reference: str
    arrived_on: dt.date
    presentation: str
    reason: str
    safeguarding_concern: bool
    provider: str


@dataclass(frozen=True, slots=True)
class HvContact:
    reference: str
    contact_on: dt.date
    contact_type: str
    attended: bool
    outcome: str | None


@dataclass(frozen=True, slots=True)
class CpisFlag:
    reference: str
    kind: str
    description: str
    active: bool
    start: dt.date
    end: dt.date | None
    author: str


@dataclass(frozen=True, slots=True)
class CamhsReferral:
    reference: str
    referred_on: dt.date
    status: str
    reason: str
    requester: str


@dataclass(frozen=True, slots=True)
class CamhsEpisode:
    reference: str
    since: dt.date
    status: str
    service: str


@dataclass(slots=True)
class PatientRecord:
    """One patient and the records about them, in source order."""

    keys: RecordKeys
    registration: Registration | None = None
    ae: list[AeAttendance] = field(default_factory=list)
    hv: list[HvContact] = field(default_factory=list)
    flags: list[CpisFlag] = field(default_factory=list)
    camhs_referrals: list[CamhsReferral] = field(default_factory=list)
    camhs_episodes: list[CamhsEpisode] = field(default_factory=list)


def load(data_dir: Path = DEFAULT_DATA_DIR) -> list[PatientRecord]:
    """Every patient in every bundle file, in file-name order."""
    patients: list[PatientRecord] = []
    for path in sorted((data_dir / BUNDLE_DIR).glob("*.json")):
        with path.open(encoding="utf-8") as handle:
            patients.extend(_patients(path.name, json.load(handle)))
    return patients


def _patients(name: str, bundle: Any) -> list[PatientRecord]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleError(f"{name}: not a FHIR Bundle")
    if bundle.get("type") != "collection":
        raise BundleError(f"{name}: Bundle.type must be 'collection'")
    resources: dict[str, dict[str, Any]] = {}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in KNOWN_RESOURCES or not resource.get("id"):
            raise BundleError(f"{name}: unexpected entry of type {kind!r}")
        resources[f"{kind}/{resource['id']}"] = resource
    records = {
        key: PatientRecord(keys=_keys(resource))
        for key, resource in resources.items()
        if resource["resourceType"] == "Patient"
    }
    for key, record in records.items():
        record.registration = _registration(resources[key], resources)
    for resource in resources.values():
        owner = _ref(resource.get("subject") or resource.get("patient"))
        if owner in records:
            _file(records[owner], resource, resources)
    return list(records.values())


def _keys(patient: dict[str, Any]) -> RecordKeys:
    names = patient.get("name") or [{}]
    name = next((n for n in names if n.get("use") == "official"), names[0])
    addresses = patient.get("address") or [{}]
    address = next((a for a in addresses if a.get("use") == "home"), addresses[0])
    nhs = next(
        (
            i.get("value")
            for i in patient.get("identifier", [])
            if i.get("system") == NHS_NUMBER_SYSTEM
        ),
        None,
    )
    return RecordKeys(
        given_name=" ".join(name.get("given", [])) or None,
        family_name=name.get("family"),
        date_of_birth=_date(patient.get("birthDate")),
        postcode=address.get("postalCode"),
        nhs_number=nhs,
    )


def _registration(
    patient: dict[str, Any], resources: dict[str, dict[str, Any]]
) -> Registration | None:
    gps = patient.get("generalPractitioner") or []
    practice = resources.get(_ref(gps[0]) or "") if gps else None
    if practice is None:
        return None
    episodes = [
        r
        for r in resources.values()
        if r["resourceType"] == "EpisodeOfCare"
        and _code(r.get("type")) == "gp-registration"
        and _ref(r.get("patient")) == f"Patient/{patient['id']}"
    ]
    since = _date(episodes[0].get("period", {}).get("start")) if episodes else None
    return Registration(
        practice=practice.get("name", "GP practice"),
        ods_code=_identifier(practice, ODS_SYSTEM) or practice["id"],
        since=since,
    )


def _file(record: PatientRecord, r: dict[str, Any], resources: dict[str, dict[str, Any]]) -> None:
    """Add one clinical resource to the patient's record, by what kind it is."""
    kind, day = r["resourceType"], _date(_start(r))
    if day is None:
        return  # undated records cannot be rated for recency; real feeds should not send them
    if kind == "Encounter" and r.get("class", {}).get("code") == "EMER":
        record.ae.append(
            AeAttendance(
                _any_identifier(r),
                day,
                _code(r.get("reasonCode")) or "unspecified",
                _text(r.get("reasonCode")),
                _extension(r, SAFEGUARDING_EXTENSION) is True,
                _display(r.get("serviceProvider"), resources),
            )
        )
    elif kind == "Encounter" and r.get("class", {}).get("code") == "HH":
        record.hv.append(
            HvContact(
                _any_identifier(r),
                day,
                _text(r.get("type")) or "Health visiting contact",
                r.get("status") == "finished",
                _extension(r, OUTCOME_EXTENSION),
            )
        )
    elif kind == "Flag" and "/cp-is" in _system(r.get("code")):
        end = _date(r.get("period", {}).get("end"))
        record.flags.append(
            CpisFlag(
                _any_identifier(r),
                _code(r.get("code")) or "",
                _display_code(r.get("code")),
                r.get("status") == "active",
                day,
                end,
                _display(r.get("author"), resources),
            )
        )
    elif kind == "ServiceRequest" and _code(r.get("category")) == "camhs":
        record.camhs_referrals.append(
            CamhsReferral(
                _any_identifier(r),
                day,
                r.get("status", "unknown"),
                _text(r.get("reasonCode")),
                r.get("requester", {}).get("display", "unknown referrer"),
            )
        )
    elif kind == "EpisodeOfCare" and _code(r.get("type")) == "camhs":
        record.camhs_episodes.append(
            CamhsEpisode(
                _any_identifier(r),
                day,
                r.get("status", "unknown"),
                _display(r.get("managingOrganization"), resources),
            )
        )


# --- small readers for FHIR shapes ------------------------------------------------


def _start(r: dict[str, Any]) -> str | None:
    return r.get("authoredOn") or r.get("period", {}).get("start")


def _date(value: str | None) -> dt.date | None:
    # FHIR dates may carry a time and zone; the day is all a finding needs.
    return dt.date.fromisoformat(value[:10]) if value else None


def _ref(reference: Any) -> str | None:
    return reference.get("reference") if isinstance(reference, dict) else None


def _concepts(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]


def _codings(value: Any) -> list[dict[str, Any]]:
    return [c for concept in _concepts(value) for c in concept.get("coding", [])]


def _code(value: Any) -> str | None:
    return next((c.get("code") for c in _codings(value)), None)


def _system(value: Any) -> str:
    return next((c.get("system", "") for c in _codings(value)), "")


def _display_code(value: Any) -> str:
    return next((c.get("display") for c in _codings(value) if c.get("display")), "") or _text(value)


def _text(value: Any) -> str:
    return next((c["text"] for c in _concepts(value) if c.get("text")), "")


def _extension(r: dict[str, Any], url: str) -> Any:
    for ext in r.get("extension", []):
        if ext.get("url") == url:
            return ext.get("valueBoolean", ext.get("valueString"))
    return None


def _identifier(r: dict[str, Any], system: str) -> str | None:
    return next(
        (i.get("value") for i in r.get("identifier", []) if i.get("system") == system), None
    )


def _any_identifier(r: dict[str, Any]) -> str:
    ids = r.get("identifier") or []
    return ids[0].get("value") if ids else f"{r['resourceType']}/{r['id']}"


def _display(reference: Any, resources: dict[str, dict[str, Any]]) -> str:
    target = resources.get(_ref(reference) or "")
    if target and target.get("name"):
        return str(target["name"])
    return reference.get("display", "unknown") if isinstance(reference, dict) else "unknown"
