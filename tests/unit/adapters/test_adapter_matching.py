"""Subject matching shared by the partner adapters (adapters/sdk/matching.py)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from adapters.sdk.matching import (
    IDENTIFIER_CONFIDENCE,
    NAME_DOB_POSTCODE_CONFIDENCE,
    RecordKeys,
    best_match,
    match_subject,
    normalise_name,
    normalise_postcode,
)
from adapters.sdk.messages import RequestSubject

DOB = dt.date(2016, 3, 14)


def subject(ref: str = "s1", **overrides: object) -> RequestSubject:
    fields: dict[str, object] = {
        "subject_ref": ref,
        "role": "child",
        "given_name": "Ruby",
        "family_name": "O'Neill-Hart",
        "date_of_birth": DOB,
        "postcode": "QY3 7LP",
    }
    fields.update(overrides)
    return RequestSubject(**fields)


def record(**overrides: object) -> RecordKeys:
    fields: dict[str, object] = {
        "given_name": "Ruby",
        "family_name": "O'Neill-Hart",
        "date_of_birth": DOB,
        "postcode": "QY3 7LP",
    }
    fields.update(overrides)
    return RecordKeys(**fields)


def test_equal_nhs_number_is_an_identifier_match_at_full_confidence() -> None:
    """An NHS number held by both sides and equal matches at 1.0, even if names differ."""
    found = match_subject(
        record(nhs_number="999 170 7530", given_name="R", postcode=None),
        subject(nhs_number="9991707530"),
    )
    assert found is not None
    assert (found.method, found.identifier_type, found.confidence) == (
        "identifier",
        "nhs_number",
        IDENTIFIER_CONFIDENCE,
    )


def test_upn_and_local_case_id_are_identifiers_too() -> None:
    """UPN (case-insensitive) and local case id (trimmed, case-folded) each match at 1.0."""
    by_upn = match_subject(record(upn="m931303122001"), subject(upn="M931303122001"))
    by_case = match_subject(
        record(local_case_id=" lcs-104237 "), subject(local_case_id="LCS-104237")
    )
    assert by_upn is not None and by_upn.identifier_type == "upn"
    assert by_case is not None and by_case.identifier_type == "local_case_id"
    assert by_upn.confidence == by_case.confidence == 1.0


def test_name_dob_postcode_match_has_lower_confidence_and_no_identifier_type() -> None:
    """With no shared identifier, exact name + DOB + postcode matches at 0.85."""
    found = match_subject(record(), subject())
    assert found is not None
    assert found.method == "name_dob_postcode"
    assert found.identifier_type is None
    assert found.confidence == NAME_DOB_POSTCODE_CONFIDENCE < IDENTIFIER_CONFIDENCE


def test_identifier_on_one_side_only_falls_back_to_demographics() -> None:
    """A record with an NHS number the subject lacks (or vice versa) can still match by name."""
    assert match_subject(record(nhs_number="9991707530"), subject()).confidence == 0.85
    assert match_subject(record(), subject(nhs_number="9991707530")).confidence == 0.85
    # The record's PNC ID has no counterpart on a v1 subject, so it is simply not compared.
    assert match_subject(record(pnc_id="07/0131676G"), subject()).confidence == 0.85


def test_conflicting_nhs_number_never_matches_by_name() -> None:
    """A different NHS number means a different person, however alike the demographics."""
    assert match_subject(record(nhs_number="9991707530"), subject(nhs_number="9994560011")) is None


def test_any_conflicting_identifier_vetoes_an_agreeing_one() -> None:
    """NHS numbers agree but UPNs differ: contradictory records are not attached to the child."""
    found = match_subject(
        record(nhs_number="9991707530", upn="M931303122001"),
        subject(nhs_number="9991707530", upn="B931303121001"),
    )
    assert found is None


def test_postcode_difference_is_not_a_match() -> None:
    """Name and DOB agreeing with a different postcode is no match (documented decision)."""
    assert match_subject(record(postcode="QY9 4WE"), subject()) is None


def test_every_demographic_field_is_required_and_must_agree() -> None:
    """A missing or differing DOB, postcode or name on either side gives no match."""
    assert match_subject(record(date_of_birth=dt.date(2016, 3, 15)), subject()) is None
    assert match_subject(record(date_of_birth=None), subject()) is None
    assert match_subject(record(), subject(date_of_birth=None)) is None
    assert match_subject(record(postcode=None), subject()) is None
    assert match_subject(record(), subject(postcode=None)) is None
    assert match_subject(record(given_name="Rubie"), subject()) is None
    assert match_subject(record(family_name="Hart"), subject()) is None


def test_normalisation_ignores_case_spacing_hyphens_apostrophes_and_accents() -> None:
    """Partner spellings such as ONEILL HART / qy37lp / Zoe still match exactly."""
    found = match_subject(
        record(given_name="  zoe ", family_name="ONEILL HART", postcode="qy37lp"),
        subject(given_name="Zoë", family_name="O’Neill-Hart", postcode="QY3  7LP"),
    )
    assert found is not None and found.confidence == 0.85
    assert normalise_name("Lily-Mae") == normalise_name("lily mae") == "lilymae"
    assert normalise_postcode(" qy3 7lp ") == "QY37LP"


def test_normalisation_keeps_non_latin_names_comparable() -> None:
    """Names in other scripts are not reduced to nothing (which would match nobody)."""
    assert normalise_name("محمد") == "محمد"
    assert normalise_name("Łukasz") == "łukasz"
    assert normalise_name("Łukasz") != normalise_name("Lukasz")


@given(
    st.sampled_from(["Ruby", "Lily-Mae", "Zoë", "Kai"]),
    st.sampled_from(["O'Neill-Hart", "Ormstead", "Dunmere"]),
    st.lists(st.sampled_from([" ", "-", "'", "’"]), max_size=3),
    st.booleans(),
)
def test_case_and_punctuation_noise_never_changes_the_match(
    given_name: str, family_name: str, noise: list[str], upper: bool
) -> None:
    """Any case change or inserted spaces/hyphens/apostrophes still match at 0.85."""
    noisy = "".join(noise).join([family_name[:2], family_name[2:]])
    found = match_subject(
        record(given_name=given_name.upper() if upper else given_name, family_name=noisy),
        subject(given_name=given_name, family_name=family_name),
    )
    assert found is not None and found.confidence == 0.85


def test_best_match_prefers_identifier_then_request_order() -> None:
    """Across subjects the highest confidence wins; equal confidences go to the earlier one."""
    twin_a = subject("s1")
    twin_b = subject("s2", nhs_number="9991707530")
    assert best_match(record(nhs_number="9991707530"), [twin_a, twin_b]).subject_ref == "s2"
    assert best_match(record(), [twin_a, subject("s3")]).subject_ref == "s1"
    assert best_match(record(postcode="QY1 1AA"), [twin_a]) is None
