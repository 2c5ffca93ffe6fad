"""The reference education adapter over the synthetic school CSV export (adapters/education)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.education import CATEGORIES, make_search
from adapters.education import source as education_source
from adapters.sdk.messages import RequestSubject

ALL = sorted(CATEGORIES)


@pytest.fixture(name="search", scope="module")
def _search():
    return make_search()


async def test_high_risk_child_is_red_from_dsl_concern(search, make_request, child) -> None:
    """A recent high-level DSL concern -> red; DSL logs are mash_only; matched by UPN."""
    result = await search(make_request(child("all_sources_high_risk"), ALL))
    assert result.brag.rating == "red"
    dsl = [f for f in result.findings if f.category == "education.dsl_concerns"]
    assert len(dsl) == 2 and all(f.dissemination == "mash_only" for f in dsl)
    attendance = [f for f in result.findings if f.category == "education.attendance"]
    assert len(attendance) == 1 and "71.3%" in attendance[0].summary
    assert {(f.match.identifier_type, f.match.confidence) for f in result.findings} == {
        ("upn", 1.0)
    }


async def test_only_requested_categories_are_returned_and_rated(
    search, make_request, child
) -> None:
    """Asked for attendance only: no DSL findings, and the rating is green (persistent absence)."""
    result = await search(make_request(child("all_sources_high_risk"), ["education.attendance"]))
    assert {f.category for f in result.findings} == {"education.attendance"}
    assert result.brag.rating == "green"


async def test_education_only_child_is_green(search, make_request, child) -> None:
    """Persistent absence, SEN support and a recent suspension -> green."""
    result = await search(make_request(child("education_only"), ALL))
    assert result.brag.rating == "green"
    assert {f.category for f in result.findings} == {
        "education.attendance",
        "education.sen",
        "education.exclusions",
        "education.dsl_concerns",
    }


async def test_name_only_record_matches_at_lower_confidence(search, make_request, child) -> None:
    """No UPN on record and surname spelt OCalder: still found by name + DOB + postcode at 0.85."""
    result = await search(make_request(child("name_match_only"), ALL))
    assert result.outcome == "findings"
    assert {(f.match.method, f.match.confidence) for f in result.findings} == {
        ("name_dob_postcode", 0.85)
    }


async def test_stale_postcode_without_upn_is_no_trace(search, make_request, household) -> None:
    """The school has the old postcode and no UPN: name + DOB alone does not match (by design)."""
    result = await search(make_request(household("postcode_mismatch"), ALL))
    assert result.outcome == "no_trace"


@pytest.mark.parametrize("scenario", ["no_trace", "police_only", "health_only"])
async def test_people_education_do_not_hold_give_no_trace(
    search, make_request, household, scenario
) -> None:
    """Households unknown to the school export get an explicit no_trace."""
    result = await search(make_request(household(scenario), ALL))
    assert result.outcome == "no_trace"


async def test_child_missing_education_is_amber(search, make_request) -> None:
    """The background pupil flagged CME is reported as a worry and rated amber."""
    pupil = next(p for p in education_source.load() if p.cme_since is not None)
    subject = RequestSubject(
        subject_ref="s1",
        role="child",
        given_name=pupil.keys.given_name,
        family_name=pupil.keys.family_name,
        date_of_birth=pupil.keys.date_of_birth,
        postcode=pupil.keys.postcode,
        upn=pupil.keys.upn,
    )
    result = await search(make_request([subject], ["education.cme"]))
    assert result.brag.rating == "amber"
    assert [f.sos_domain for f in result.findings] == ["worry"]


def test_export_missing_a_column_is_rejected(tmp_path: Path) -> None:
    """A CSV without the expected columns fails at load instead of silently matching nobody."""
    (tmp_path / "events.csv").write_text("event_ref,pupil_id\n", encoding="utf-8")
    (tmp_path / "pupils.csv").write_text("pupil_id,upn\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing columns"):
        make_search(tmp_path)
