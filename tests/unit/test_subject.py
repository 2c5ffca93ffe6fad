"""Subjects of an enquiry: postcodes, what is needed to match them, and the household."""

from __future__ import annotations

import datetime as dt

import pytest

from broker.domain.errors import InvalidSubject
from broker.domain.subject import Subject, check_household

from .builders import child, household_member

TODAY = dt.date(2026, 3, 2)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("qv3 7lp", "QV3 7LP"),
        ("  sw1a   1aa ", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),
        ("b33 8th", "B33 8TH"),
        ("cr26xh", "CR26XH"),
        ("DN55 1PT", "DN55 1PT"),
    ],
)
def test_postcode_is_upper_cased_with_whitespace_collapsed(given: str, stored: str) -> None:
    """A UK-shaped postcode is stored upper case with runs of whitespace collapsed to one space."""
    assert child(postcode=given).postcode == stored


@pytest.mark.parametrize("bad", ["12345", "SW1A 1A", "SW1A-1AA", "QV3 7LP X", "Q 7LP", "SW1A 1 AA"])
def test_postcode_that_is_not_uk_shaped_is_refused(bad: str) -> None:
    """A postcode that does not have the UK outward/inward shape is refused, quoting it."""
    with pytest.raises(InvalidSubject, match=r"^subject c1: postcode '.*' is not a UK postcode"):
        child(postcode=bad)


def test_subject_with_neither_identifier_nor_dob_and_postcode_is_refused() -> None:
    """Without an identifier, a subject needs both date of birth and postcode."""
    with pytest.raises(InvalidSubject, match=r"^subject c1: give an identifier .* or a date of birth and postcode"):
        child(nhs_number=None, postcode=None)
    with pytest.raises(InvalidSubject, match="give an identifier"):
        child(nhs_number=None, date_of_birth=None)


@pytest.mark.parametrize(
    "identifier",
    [{"nhs_number": "9434765919"}, {"upn": "B801200005001"}, {"local_case_id": "LA-42"}],
)
def test_any_one_identifier_is_enough_to_search(identifier: dict[str, str]) -> None:
    """A subject with any single identifier and no demographics is accepted."""
    subject = Subject.create(
        subject_ref="c1", role="child", given_name="Amara", family_name="Okafor", **identifier
    )
    assert subject.date_of_birth is None and subject.postcode is None


def test_dob_and_postcode_are_enough_without_an_identifier() -> None:
    """Date of birth plus postcode lets partners match without an identifier."""
    subject = household_member()
    assert subject.nhs_number is None and subject.upn is None and subject.local_case_id is None


def test_blank_names_are_refused() -> None:
    """Given and family names are required and may not be blank."""
    with pytest.raises(InvalidSubject, match="given_name and family_name are required"):
        child(given_name="  ")


def test_household_needs_exactly_one_child() -> None:
    """A household with no child or two children is refused, counting the children."""
    with pytest.raises(InvalidSubject, match=r"exactly one child .*; 0 given"):
        check_household((household_member("m1"), household_member("m2")), today=TODAY)
    with pytest.raises(InvalidSubject, match=r"exactly one child .*; 2 given"):
        check_household((child(subject_ref="c1"), child(subject_ref="c2")), today=TODAY)


def test_household_needs_at_least_one_subject() -> None:
    """An empty household is refused."""
    with pytest.raises(InvalidSubject, match="at least one subject"):
        check_household((), today=TODAY)


def test_household_subject_refs_must_be_unique() -> None:
    """Two subjects with the same ref are refused."""
    with pytest.raises(InvalidSubject, match="subject_ref values must be unique"):
        check_household((child(), household_member("c1")), today=TODAY)


def test_household_with_one_child_and_members_is_accepted() -> None:
    """One child with any number of distinct household members passes."""
    check_household((child(), household_member("m1"), household_member("m2")), today=TODAY)


def test_date_of_birth_in_the_future_is_refused() -> None:
    """A subject born after today is refused when the household is checked."""
    future = child(date_of_birth=TODAY + dt.timedelta(days=1))
    with pytest.raises(InvalidSubject, match=r"^subject c1: date_of_birth is in the future"):
        check_household((future,), today=TODAY)
    with pytest.raises(InvalidSubject, match="date_of_birth is in the future"):
        future.check(today=TODAY)


def test_date_of_birth_today_is_accepted() -> None:
    """A baby born today is not in the future."""
    check_household((child(date_of_birth=TODAY),), today=TODAY)
