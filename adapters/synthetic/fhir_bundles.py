"""Render each patient's health record as a FHIR R4 collection Bundle (plain JSON).

The resources used are as follows.
- Patient: NHS number identifier, name, DOB, address, and generalPractitioner
  pointing to the practice Organization.
- EpisodeOfCare of type gp-registration: the registration date.
- Encounter with class EMER: A&E attendances.
- Encounter with class HH: health visiting contacts.
- Flag: CP-IS child protection plan or looked-after status.
- ServiceRequest, plus EpisodeOfCare once accepted: CAMHS.

Code systems and identifier systems that are not national use the reserved
`.invalid` domain, so they can never clash with a real one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from adapters.synthetic import places
from adapters.synthetic.model import (
    AeAttendance,
    CamhsReferral,
    Cohort,
    CpisFlag,
    HealthRecord,
    HvContact,
    Person,
)
from adapters.synthetic.places import Organisation

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
FLAG_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/flag-category"
LOCAL = "https://fhir.quillsby.invalid"
CODES = f"{LOCAL}/CodeSystem"
IDS = f"{LOCAL}/Id"
SAFEGUARDING_EXTENSION = f"{LOCAL}/StructureDefinition/safeguarding-concern"
OUTCOME_EXTENSION = f"{LOCAL}/StructureDefinition/contact-outcome"

_NAMESPACE = uuid.UUID("6f1c1f7e-3f57-4a0e-9a53-5d1c0c5e0b11")
_FLAG_NAMES = {"CPP": "Child Protection Plan", "LAC": "Looked After Child"}


def render(cohort: Cohort) -> dict[str, str]:
    """File name -> JSON text, one Bundle per patient."""
    files = {}
    for record in sorted(cohort.health, key=lambda r: r.person_id):
        person = cohort.person(record.person_id)
        bundle = _bundle(cohort, person, record)
        files[f"{bundle['id']}.json"] = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
    return files


def _id(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}/{key}"))


def _ref(kind: str, key: str) -> dict[str, str]:
    return {"reference": f"{kind}/{_id(kind, key)}"}


def _org_ref(org: Organisation) -> dict[str, str]:
    return {**_ref("Organization", org.code), "display": org.name}


def _bundle(cohort: Cohort, person: Person, record: HealthRecord) -> dict[str, Any]:
    practice = next(p for p in places.GP_PRACTICES if p.code == record.practice_code)
    orgs = {practice}
    patient = _patient(cohort, person, record, practice)
    resources: list[dict[str, Any]] = [patient, _gp_registration(person, record, practice)]
    for a in record.ae:
        orgs.add(places.EMERGENCY_DEPARTMENT)
        resources.append(_ae(person, a))
    for c in record.hv:
        orgs.add(places.HEALTH_VISITING)
        resources.append(_hv(person, c))
    for f in record.cpis:
        orgs.add(places.CHILDRENS_SERVICES)
        resources.append(_flag(cohort, person, f))
    for r in record.camhs:
        orgs.add(places.CAMHS)
        resources.extend(_camhs(person, r))
    resources.extend(_organisation(o) for o in sorted(orgs, key=lambda o: o.code))
    return {
        "resourceType": "Bundle",
        "id": _id("Bundle", person.person_id),
        "meta": {"lastUpdated": f"{cohort.reference_date.isoformat()}T00:00:00Z"},
        "type": "collection",
        "entry": [
            {"fullUrl": f"{LOCAL}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }


def _patient(
    cohort: Cohort, person: Person, record: HealthRecord, practice: Organisation
) -> dict[str, Any]:
    home = cohort.household(person.household_id)
    line, city = home.address.rsplit(", ", 1)
    patient: dict[str, Any] = {"resourceType": "Patient", "id": _id("Patient", person.person_id)}
    if record.record_nhs_number:
        patient["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": person.nhs_number}]
    patient |= {
        "name": [{"use": "official", "family": person.family_name, "given": [person.given_name]}],
        "gender": person.sex,
        "birthDate": person.date_of_birth.isoformat(),
        "address": [
            {
                "use": "home",
                "line": [line],
                "city": city,
                "postalCode": record.postcode_override or home.postcode,
            }
        ],
        "generalPractitioner": [_org_ref(practice)],
    }
    return patient


def _subject(person: Person) -> dict[str, str]:
    return _ref("Patient", person.person_id)


def _gp_registration(
    person: Person, record: HealthRecord, practice: Organisation
) -> dict[str, Any]:
    return {
        "resourceType": "EpisodeOfCare",
        "id": _id("EpisodeOfCare", f"gp/{person.person_id}"),
        "status": "active",
        "type": [_coding("episode-type", "gp-registration", "GP registration")],
        "patient": _subject(person),
        "managingOrganization": _org_ref(practice),
        "period": {"start": record.registered_on.isoformat()},
    }


def _ae(person: Person, a: AeAttendance) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": _id("Encounter", a.attendance_no),
        "extension": [{"url": SAFEGUARDING_EXTENSION, "valueBoolean": a.safeguarding_concern}],
        "identifier": [{"system": f"{IDS}/ed-attendance", "value": a.attendance_no}],
        "status": "finished",
        "class": {"system": ACT_CODE_SYSTEM, "code": "EMER", "display": "emergency"},
        "type": [_coding("encounter-type", "ae-attendance", "A&E attendance")],
        "subject": _subject(person),
        "period": {"start": a.arrived_on.isoformat()},
        "reasonCode": [
            {
                **_coding("ae-presentation", a.presentation, a.presentation.replace("_", " ")),
                "text": a.reason,
            }
        ],
        "serviceProvider": _org_ref(places.EMERGENCY_DEPARTMENT),
    }


def _hv(person: Person, c: HvContact) -> dict[str, Any]:
    encounter: dict[str, Any] = {"resourceType": "Encounter", "id": _id("Encounter", c.contact_no)}
    if not c.attended:
        encounter["extension"] = [{"url": OUTCOME_EXTENSION, "valueString": "Was not brought"}]
    encounter |= {
        "identifier": [{"system": f"{IDS}/hv-contact", "value": c.contact_no}],
        "status": "finished" if c.attended else "cancelled",
        "class": {"system": ACT_CODE_SYSTEM, "code": "HH", "display": "home health"},
        "type": [
            {
                **_coding("encounter-type", "health-visiting", "Health visiting contact"),
                "text": c.contact_type,
            }
        ],
        "subject": _subject(person),
        "period": {"start": c.contact_on.isoformat()},
        "serviceProvider": _org_ref(places.HEALTH_VISITING),
    }
    return encounter


def _flag(cohort: Cohort, person: Person, f: CpisFlag) -> dict[str, Any]:
    active = f.end is None or f.end > cohort.reference_date
    period = {"start": f.start.isoformat()}
    if f.end is not None:
        period["end"] = f.end.isoformat()
    return {
        "resourceType": "Flag",
        "id": _id("Flag", f.flag_no),
        "identifier": [{"system": f"{IDS}/cp-is", "value": f.flag_no}],
        "status": "active" if active else "inactive",
        "category": [
            {"coding": [{"system": FLAG_CATEGORY_SYSTEM, "code": "safety", "display": "Safety"}]}
        ],
        "code": {
            **_coding("cp-is", f.kind, _FLAG_NAMES[f.kind]),
            "text": f"CP-IS: {_FLAG_NAMES[f.kind]}",
        },
        "subject": _subject(person),
        "period": period,
        "author": _org_ref(places.CHILDRENS_SERVICES),
    }


def _camhs(person: Person, r: CamhsReferral) -> list[dict[str, Any]]:
    request_id = _id("ServiceRequest", r.referral_no)
    request = {
        "resourceType": "ServiceRequest",
        "id": request_id,
        "identifier": [{"system": f"{IDS}/camhs-referral", "value": r.referral_no}],
        "status": "completed" if r.accepted_on else "active",
        "intent": "order",
        "category": [_coding("service-category", "camhs", "CAMHS referral")],
        "code": {"text": "Child and adolescent mental health assessment"},
        "subject": _subject(person),
        "authoredOn": r.referred_on.isoformat(),
        "requester": {"display": r.referrer},
        "performer": [_org_ref(places.CAMHS)],
        "reasonCode": [{"text": r.reason}],
    }
    if r.accepted_on is None:
        return [request]
    episode = {
        "resourceType": "EpisodeOfCare",
        "id": _id("EpisodeOfCare", r.referral_no),
        "status": "active",
        "type": [_coding("episode-type", "camhs", "CAMHS episode")],
        "patient": _subject(person),
        "managingOrganization": _org_ref(places.CAMHS),
        "period": {"start": r.accepted_on.isoformat()},
        "referralRequest": [{"reference": f"ServiceRequest/{request_id}"}],
    }
    return [request, episode]


def _organisation(org: Organisation) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": _id("Organization", org.code),
        "identifier": [{"system": ODS_SYSTEM, "value": org.code}],
        "name": org.name,
    }


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": f"{CODES}/{system}", "code": code, "display": display}]}
