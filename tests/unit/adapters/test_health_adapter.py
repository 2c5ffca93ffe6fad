"""The reference health adapter over the synthetic FHIR bundles (adapters/health)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from adapters.health import CATEGORIES, make_search
from adapters.health.source import NHS_NUMBER_SYSTEM, BundleError
from adapters.sdk.messages import RequestSubject

ALL = sorted(CATEGORIES)


@pytest.fixture(name="search", scope="module")
def _search():
    return make_search()


async def test_cp_is_child_with_injury_attendance_is_red(search, make_request, child) -> None:
    """Active CP-IS flag plus a recent A&E attendance with a safeguarding concern -> red."""
    result = await search(make_request(child("all_sources_high_risk"), ALL))
    assert result.brag.rating == "red"
    flags = [f for f in result.findings if f.category == "health.cp_is"]
    assert len(flags) == 1 and "active" in flags[0].summary
    concern = [f for f in result.findings if "Safeguarding concern" in f.summary]
    assert concern and all(f.dissemination == "summary_safe" for f in concern)
    assert {(f.match.method, f.match.identifier_type) for f in result.findings} == {
        ("identifier", "nhs_number")
    }


async def test_only_requested_categories_are_returned_and_rated(
    search, make_request, child
) -> None:
    """Asked for CP-IS only: only the flag comes back, rated amber (no A&E to combine with)."""
    result = await search(make_request(child("all_sources_high_risk"), ["health.cp_is"]))
    assert {f.category for f in result.findings} == {"health.cp_is"}
    assert result.brag.rating == "amber"


async def test_household_members_are_searched(search, make_request, household) -> None:
    """Mother's A&E attendance and the sibling's CP-IS flag are found under their own refs."""
    result = await search(make_request(household("all_sources_high_risk"), ALL))
    found = {(f.match.subject_ref, f.category) for f in result.findings}
    assert ("s2", "health.ae_attendances") in found
    assert ("s4", "health.cp_is") in found


async def test_name_only_records_match_at_lower_confidence(search, make_request, household) -> None:
    """No NHS number on the child's record: matched on name + DOB + postcode at 0.85."""
    result = await search(make_request(household("name_match_only"), ALL))
    child_matches = {f.match for f in result.findings if f.match.subject_ref == "s1"}
    assert child_matches and all(
        m.method == "name_dob_postcode" and m.confidence == 0.85 for m in child_matches
    )
    mother = {f.match.confidence for f in result.findings if f.match.subject_ref == "s2"}
    assert mother == {1.0}


async def test_stale_postcode_does_not_hide_an_identifier_match(
    search, make_request, child
) -> None:
    """The GP record keeps the old postcode, but the NHS number still matches at 1.0."""
    result = await search(make_request(child("postcode_mismatch"), ALL))
    assert result.outcome == "findings"
    assert {f.match.confidence for f in result.findings} == {1.0}


async def test_health_only_baby_is_green_for_not_brought(search, make_request, child) -> None:
    """A recent health visiting contact the baby was not brought to -> green, marked as a worry."""
    result = await search(make_request(child("health_only"), ALL))
    assert result.brag.rating == "green"
    missed = [f for f in result.findings if "was not brought" in f.summary]
    assert len(missed) == 1 and missed[0].sos_domain == "worry"


@pytest.mark.parametrize("scenario", ["no_trace", "police_only", "education_only"])
async def test_people_health_do_not_hold_give_no_trace(
    search, make_request, household, scenario
) -> None:
    """Households unknown to health get an explicit no_trace."""
    result = await search(make_request(household(scenario), ALL))
    assert result.outcome == "no_trace"


async def test_gp_registration_only_is_blue(search, make_request, household) -> None:
    """GP registration alone is a protective fact: rated blue, working_well, summary_safe."""
    result = await search(make_request(household("health_only"), ["health.gp_registration"]))
    assert result.brag.rating == "blue"
    assert {(f.sos_domain, f.dissemination) for f in result.findings} == {
        ("working_well", "summary_safe")
    }


def _bundle(nhs_number: str) -> dict:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs_number}],
        "name": [{"use": "official", "family": "Smith", "given": ["Amy"]}],
        "birthDate": "2015-05-05",
        "address": [{"use": "home", "postalCode": "QY1 1AA"}],
    }
    flag = {
        "resourceType": "Flag",
        "id": "f1",
        "status": "active",
        "code": {
            "coding": [
                {
                    "system": "https://fhir.quillsby.invalid/CodeSystem/cp-is",
                    "code": "LAC",
                    "display": "Looked After Child",
                }
            ]
        },
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2026-01-01"},
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient}, {"resource": flag}],
    }


async def test_conflicting_nhs_number_is_not_matched_by_name(make_request, tmp_path: Path) -> None:
    """A patient with the same name, DOB and postcode but another NHS number is not returned."""
    (tmp_path / "bundles").mkdir()
    (tmp_path / "bundles" / "b.json").write_text(json.dumps(_bundle("9991707530")))
    search = make_search(tmp_path)
    subject = RequestSubject(
        subject_ref="s1",
        role="child",
        given_name="Amy",
        family_name="Smith",
        date_of_birth=dt.date(2015, 5, 5),
        postcode="QY1 1AA",
        nhs_number="9434765919",
    )
    assert (await search(make_request([subject], ALL))).outcome == "no_trace"
    same = subject.model_copy(update={"nhs_number": "9991707530"})
    assert (await search(make_request([same], ALL))).outcome == "findings"


@pytest.mark.parametrize(
    "document",
    [
        {"resourceType": "Patient", "id": "p1"},
        {"resourceType": "Bundle", "type": "transaction", "entry": []},
        {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": "x"}}]},
    ],
)
def test_files_that_are_not_collection_bundles_are_rejected(tmp_path: Path, document) -> None:
    """Loading fails loudly on a non-Bundle, a non-collection Bundle, or an untyped resource."""
    (tmp_path / "bundles").mkdir()
    (tmp_path / "bundles" / "bad.json").write_text(json.dumps(document))
    with pytest.raises(BundleError):
        make_search(tmp_path)
