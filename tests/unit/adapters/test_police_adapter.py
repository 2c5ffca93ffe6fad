"""The reference police adapter over the synthetic police.sql (adapters/police)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from adapters.police import CATEGORIES, make_search
from adapters.police.source import DEFAULT_DATA_DIR
from adapters.sdk.messages import RequestSubject
from adapters.synthetic.police_sql import SCHEMA

ALL = sorted(CATEGORIES)


@pytest.fixture(name="search", scope="module")
def _search():
    return make_search()


async def test_high_risk_child_is_red_with_dash_and_marac(search, make_request, child) -> None:
    """The all-sources child: high-risk DASH and MARAC within 12 months -> red, by case id."""
    result = await search(make_request(child("all_sources_high_risk"), ALL))
    assert result.outcome == "findings"
    assert result.brag.rating == "red"
    assert "MARAC" in result.brag.rationale and "DASH" in result.brag.rationale
    categories = {f.category for f in result.findings}
    assert {"police.domestic_abuse", "police.marac", "police.incidents"} <= categories
    high = [f for f in result.findings if "DASH risk: high" in f.summary]
    assert high and all(f.dissemination == "summary_safe" for f in high)
    assert all(
        (f.match.method, f.match.identifier_type, f.match.confidence)
        == ("identifier", "local_case_id", 1.0)
        for f in result.findings
    )


async def test_every_household_member_is_searched(search, make_request, household) -> None:
    """Mother and partner (no shared identifier) match by name at 0.85; partner's arrests appear."""
    subjects = household("all_sources_high_risk")
    result = await search(make_request(subjects, ALL))
    by_subject = {f.match.subject_ref: f.match for f in result.findings}
    assert set(by_subject) == {s.subject_ref for s in subjects}
    assert by_subject["s2"].confidence == by_subject["s3"].confidence == 0.85
    partner_arrests = [
        f for f in result.findings if f.category == "police.arrests" and f.match.subject_ref == "s3"
    ]
    assert len(partner_arrests) == 2


async def test_only_requested_categories_are_returned(search, make_request, child) -> None:
    """Asking for MARAC alone returns only MARAC findings (NRP on the partner side)."""
    result = await search(make_request(child("all_sources_high_risk"), ["police.marac"]))
    assert {f.category for f in result.findings} == {"police.marac"}


async def test_rating_comes_only_from_returned_findings(search, make_request, child) -> None:
    """Asked only for incidents, the red child's rating does not leak the DASH/MARAC history."""
    result = await search(make_request(child("all_sources_high_risk"), ["police.incidents"]))
    assert {f.category for f in result.findings} == {"police.incidents"}
    assert result.brag.rating == "green"
    assert "MARAC" not in result.brag.rationale


async def test_foreign_categories_alone_give_no_trace(search, make_request, child) -> None:
    """A request naming no police category is answered no_trace, not with police data."""
    result = await search(make_request(child("all_sources_high_risk"), ["health.cp_is"]))
    assert result.outcome == "no_trace"


async def test_police_only_child_is_amber_and_intelligence_needs_approval(
    search, make_request, child
) -> None:
    """Recent missing episodes -> amber; the exploitation intelligence is owner_approval."""
    result = await search(make_request(child("police_only"), ALL))
    assert result.brag.rating == "amber"
    assert "missing episode" in result.brag.rationale
    intelligence = [f for f in result.findings if f.source_system == "Niche RMS (intelligence)"]
    assert len(intelligence) == 1 and intelligence[0].dissemination == "owner_approval"
    assert sum(f.category == "police.missing_episodes" for f in result.findings) == 3


@pytest.mark.parametrize(
    "scenario",
    ["no_trace", "health_only", "education_only", "name_match_only", "postcode_mismatch"],
)
async def test_people_police_do_not_hold_give_no_trace(
    search, make_request, household, scenario
) -> None:
    """Whole households unknown to police get an explicit no_trace."""
    result = await search(make_request(household(scenario), ALL))
    assert result.outcome == "no_trace"
    assert result.findings == [] and result.brag is None


async def test_recency_is_measured_from_the_request(search, make_request, child, issued_at) -> None:
    """Issued two years later, the same history is no longer red (MARAC/DASH now older)."""
    later = issued_at + dt.timedelta(days=730)
    result = await search(make_request(child("all_sources_high_risk"), ALL, issued=later))
    assert result.brag.rating == "amber"


async def test_findings_are_newest_first_and_bounded(search, make_request, household) -> None:
    """Findings come newest first, and every summary fits the wire limit."""
    result = await search(make_request(household("all_sources_high_risk"), ALL))
    dates = [f.date for f in result.findings]
    assert dates == sorted(dates, reverse=True)
    assert all(0 < len(f.summary) <= 2000 for f in result.findings)


async def test_conflicting_case_reference_is_not_matched_by_name(
    make_request, tmp_path: Path
) -> None:
    """A nominal with identical demographics but another case reference is someone else."""
    (tmp_path / "police.sql").write_text(
        SCHEMA
        + "INSERT INTO persons VALUES ('NOM-1', NULL, 'LCS-999', 'SMITH', 'Amy', '2015-05-05',"
        " 'F', NULL, 'QY11AA');\n"
        + "INSERT INTO missing_episodes VALUES ('MISPER/26/1', 'NOM-1', '2026-10-01',"
        " '2026-10-02', 'low', 'Found at a friend''s house.');\n",
        encoding="utf-8",
    )
    search = make_search(tmp_path)
    same = RequestSubject(
        subject_ref="s1",
        role="child",
        given_name="Amy",
        family_name="Smith",
        date_of_birth=dt.date(2015, 5, 5),
        postcode="QY1 1AA",
    )
    assert (await search(make_request([same], ALL))).outcome == "findings"
    other = same.model_copy(update={"local_case_id": "LCS-123"})
    assert (await search(make_request([other], ALL))).outcome == "no_trace"


def test_make_search_reads_the_given_data_dir(tmp_path: Path) -> None:
    """make_search(data_dir) loads that directory's police.sql, not the packaged one."""
    with pytest.raises(FileNotFoundError):
        make_search(tmp_path)
    shutil.copy(DEFAULT_DATA_DIR / "police.sql", tmp_path / "police.sql")
    assert callable(make_search(tmp_path))
