"""Fixtures for the partner adapter tests: the generated cohort and a request builder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from adapters.sdk.messages import PartnerRequest, RequestSubject
from adapters.synthetic import household_subjects, load_cohort, request_subject

RequestFactory = Callable[..., PartnerRequest]


@pytest.fixture(name="cohort", scope="session")
def _cohort() -> dict[str, Any]:
    return load_cohort()


@pytest.fixture(name="issued_at", scope="session")
def _issued_at(cohort: dict[str, Any]) -> dt.datetime:
    """Requests are issued on the cohort's reference date, so recency rules are stable."""
    day = dt.date.fromisoformat(cohort["reference_date"])
    return dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC)


@pytest.fixture(name="make_request")
def _make_request(issued_at: dt.datetime) -> RequestFactory:
    def build(
        subjects: list[RequestSubject],
        categories: Iterable[str],
        *,
        issued: dt.datetime | None = None,
    ) -> PartnerRequest:
        when = issued or issued_at
        return PartnerRequest(
            request_id="req-1",
            enquiry_id="enq-1",
            partner_id="partner-under-test",
            agreement_id="isa-quillsby",
            agreement_version="1",
            purpose="mash-enquiry",
            categories=sorted(categories),
            subjects=subjects,
            brag="amber",
            issued_at=when,
            deadline=when + dt.timedelta(hours=6),
        )

    return build


@pytest.fixture(name="child")
def _child(cohort: dict[str, Any]) -> Callable[[str], list[RequestSubject]]:
    """The scenario child alone, as subject s1."""
    return lambda scenario: [request_subject(cohort, cohort["scenarios"][scenario], "s1")]


@pytest.fixture(name="household")
def _household(cohort: dict[str, Any]) -> Callable[[str], list[RequestSubject]]:
    """The scenario child as s1, then every other household member."""
    return lambda scenario: household_subjects(cohort, cohort["scenarios"][scenario])
