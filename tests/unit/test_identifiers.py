"""NHS numbers and UPNs: what is accepted, what is refused, and what the refusal says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.domain.errors import InvalidIdentifier
from broker.domain.identifiers import format_nhs_number, normalise_nhs_number, normalise_upn
from broker.domain.subject import Subject

from .builders import VALID_NHS, VALID_UPN, nhs_check_digit


def _subject(**identifiers: str) -> Subject:
    return Subject.create(
        subject_ref="c1", role="child", given_name="Amara", family_name="Okafor", **identifiers
    )


# --- NHS number -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", VALID_NHS)
def test_valid_nhs_numbers_are_accepted(value: str) -> None:
    """A 10-digit NHS number with a correct mod-11 check digit is returned unchanged."""
    assert normalise_nhs_number(value) == value


def test_nhs_number_with_spaces_is_normalised_to_ten_digits() -> None:
    """The display form with spaces is accepted and stored as 10 digits."""
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert format_nhs_number("9434765919") == "943 476 5919"


def test_nhs_number_with_wrong_check_digit_is_refused() -> None:
    """A wrong check digit is refused, naming the field and the check digit."""
    with pytest.raises(InvalidIdentifier, match=r"^nhs_number: .*check digit is wrong"):
        normalise_nhs_number("9434765918")


def test_nhs_number_whose_check_digit_would_be_10_is_refused_whatever_the_last_digit() -> None:
    """Nine digits whose mod-11 check would be 10 make no valid NHS number at all."""
    stem = next(f"{n:09d}" for n in range(100_000_000, 999_999_999) if nhs_check_digit(f"{n:09d}") == 10)
    for last in "0123456789":
        with pytest.raises(InvalidIdentifier, match="check digit is wrong"):
            normalise_nhs_number(stem + last)


@pytest.mark.parametrize("value", ["943476591", "94347659190"])
def test_nhs_number_of_wrong_length_is_refused(value: str) -> None:
    """Anything but 10 digits is refused because of its length."""
    with pytest.raises(InvalidIdentifier, match=r"^nhs_number: .*wrong length"):
        normalise_nhs_number(value)


@pytest.mark.parametrize("value", ["94347659A9", "NHS4765919", "9434765919x"])
def test_nhs_number_with_letters_is_refused(value: str) -> None:
    """Letters in an NHS number are refused as characters that are not allowed."""
    with pytest.raises(InvalidIdentifier, match=r"^nhs_number: .*characters that are not allowed"):
        normalise_nhs_number(value)


def test_nhs_error_names_the_field_given() -> None:
    """The caller's field name leads the error message."""
    with pytest.raises(InvalidIdentifier, match=r"^subjects\[2\]\.nhs_number: NHS number is invalid"):
        normalise_nhs_number("9434765918", field="subjects[2].nhs_number")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_the_computed_check_digit_validates(stem: str) -> None:
    """For any 9 digits, the computed mod-11 check digit validates and no other digit does."""
    check = nhs_check_digit(stem)
    for digit in range(10):
        candidate = f"{stem}{digit}"
        if digit == check:
            assert normalise_nhs_number(candidate) == candidate
        else:
            with pytest.raises(InvalidIdentifier, match="check digit is wrong"):
                normalise_nhs_number(candidate)


# --- UPN --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", VALID_UPN)
def test_valid_upns_are_accepted(value: str) -> None:
    """A UPN with a known LA number and the right check letter is returned unchanged."""
    assert normalise_upn(value) == value


def test_upn_with_wrong_check_letter_is_refused() -> None:
    """A wrong check letter is refused, naming the field and the check letter."""
    with pytest.raises(InvalidIdentifier, match=r"^upn: UPN is invalid because its check letter is wrong"):
        normalise_upn("C801200005001")


def test_upn_with_unknown_local_authority_number_is_refused() -> None:
    """A UPN whose LA number is not a known local authority is refused, saying so."""
    with pytest.raises(InvalidIdentifier, match=r"^upn: .*local authority number"):
        normalise_upn("B999200005001")


@pytest.mark.parametrize("value", ["B80120000500", "B8012000050011"])
def test_upn_of_wrong_length_is_refused(value: str) -> None:
    """A UPN that is not 13 characters long is refused because of its length."""
    with pytest.raises(InvalidIdentifier, match=r"^upn: .*wrong length"):
        normalise_upn(value)


# --- through Subject.create -------------------------------------------------------------------


def test_subject_create_normalises_identifiers() -> None:
    """Subject.create stores the compact NHS number and the upper-case UPN."""
    subject = _subject(nhs_number="654 100 3238", upn="g80120000101a")
    assert subject.nhs_number == "6541003238"
    assert subject.upn == "G80120000101A"


def test_subject_create_names_subject_and_field_for_a_bad_nhs_number() -> None:
    """The error says which subject, which field and why."""
    with pytest.raises(
        InvalidIdentifier, match=r"^subject c1: nhs_number: NHS number is invalid because its check digit is wrong"
    ):
        _subject(nhs_number="6541003239")


def test_subject_create_names_subject_and_field_for_a_bad_upn() -> None:
    """A bad UPN on a subject is reported against that subject's upn field."""
    with pytest.raises(InvalidIdentifier, match=r"^subject c1: upn: UPN is invalid because its check letter is wrong"):
        _subject(upn="A801200005001")


def test_subject_create_reports_an_unknown_la_number_on_the_upn_field() -> None:
    """An unknown LA number is reported on the subject's upn field."""
    with pytest.raises(InvalidIdentifier, match=r"^subject c1: upn: .*local authority number"):
        _subject(upn="B999200005001")
