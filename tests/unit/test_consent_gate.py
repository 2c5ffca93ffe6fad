"""The consent gate and the rules of a recorded consent decision."""

from __future__ import annotations

import datetime as dt

import pytest

from broker.domain.consent import ConsentDecision, ConsentStatus, consent_gate
from broker.domain.errors import InvalidConsent

from .builders import consent_given, consent_without

OVERRIDES = [ConsentStatus.REFUSED, ConsentStatus.NOT_SOUGHT, ConsentStatus.WITHDRAWN]
REQUIRED = ["reason", "lawful_basis", "approved_by"]


def test_no_consent_decision_is_refused() -> None:
    """Without a recorded decision the gate refuses and says none is recorded."""
    outcome = consent_gate(None)
    assert outcome.gate == "consent"
    assert not outcome.passed
    assert outcome.reason == "no consent decision is recorded"


def test_consent_given_passes() -> None:
    """Consent given passes without reason, lawful basis or approver, naming who gave it."""
    outcome = consent_gate(consent_given(given_by="parent"))
    assert outcome.passed
    assert outcome.reason == "consent given by parent"


@pytest.mark.parametrize("status", OVERRIDES)
def test_proceeding_without_consent_passes_with_reason_basis_and_approver(status: ConsentStatus) -> None:
    """Refused, not sought or withdrawn passes when reason, lawful basis and approver are recorded."""
    outcome = consent_gate(consent_without(status))
    assert outcome.passed
    assert f"consent {status.value}; proceeding on lawful basis UK-GDPR-6(1)(e)" in outcome.reason
    assert "approved by mgr.patel" in outcome.reason


@pytest.mark.parametrize("status", OVERRIDES)
@pytest.mark.parametrize("missing", REQUIRED)
@pytest.mark.parametrize("blank", [None, "", "   "])
def test_each_missing_requirement_refuses_and_is_named(
    status: ConsentStatus, missing: str, blank: str | None
) -> None:
    """Proceeding without consent is refused when any one requirement is absent or blank, naming it."""
    outcome = consent_gate(consent_without(status, **{missing: blank}))
    assert not outcome.passed
    assert outcome.reason == f"consent {status.value}: proceeding needs a recorded {missing}"


@pytest.mark.parametrize("status", OVERRIDES)
def test_all_missing_requirements_are_named_together(status: ConsentStatus) -> None:
    """With nothing recorded, the reason lists every missing requirement."""
    outcome = consent_gate(consent_without(status, reason=None, lawful_basis=None, approved_by=None))
    assert not outcome.passed
    assert outcome.reason.endswith("needs a recorded reason, lawful_basis, approved_by")


@pytest.mark.parametrize("status", OVERRIDES)
def test_approver_must_not_be_the_decider(status: ConsentStatus) -> None:
    """The approving manager must be someone other than the person who decided."""
    outcome = consent_gate(consent_without(status, decided_by="sw.jones", approved_by="sw.jones"))
    assert not outcome.passed
    assert "approving manager must be someone other than the person who decided" in outcome.reason


@pytest.mark.parametrize("informed", ["no", "deferred"])
def test_family_not_informed_needs_a_reason(informed: str) -> None:
    """Not telling the family (no or deferred) requires a recorded reason."""
    with pytest.raises(InvalidConsent, match=r"family_informed_reason is required when the family was not told"):
        consent_given(family_informed=informed, family_informed_reason=None)
    decision = consent_given(family_informed=informed, family_informed_reason="unsafe to tell the family now")
    assert decision.family_informed == informed


def test_family_informed_yes_needs_no_reason() -> None:
    """When the family was told, no reason for not telling them is needed."""
    assert consent_given(family_informed="yes", family_informed_reason=None).family_informed == "yes"


def test_naive_decided_at_is_refused() -> None:
    """A decision time without a time zone is refused."""
    with pytest.raises(InvalidConsent, match="decided_at must carry a time zone"):
        consent_given(decided_at=dt.datetime(2026, 3, 2, 9, 0))


def test_blank_decided_by_is_refused() -> None:
    """Who decided is required."""
    with pytest.raises(InvalidConsent, match="decided_by is required"):
        consent_given(decided_by="  ")


def test_decision_is_immutable() -> None:
    """A recorded decision cannot be altered after the fact."""
    decision = consent_given()
    with pytest.raises(AttributeError):
        decision.status = ConsentStatus.REFUSED  # type: ignore[misc]
    assert isinstance(decision, ConsentDecision)
