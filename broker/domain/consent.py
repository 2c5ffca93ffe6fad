"""The recorded consent decision and the consent gate."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Literal

from broker.domain.errors import InvalidConsent


class ConsentStatus(str, enum.Enum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not_sought"
    WITHDRAWN = "withdrawn"


FamilyInformed = Literal["yes", "no", "deferred"]


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    """Who decided what about consent, on which lawful basis, approved by whom."""

    status: ConsentStatus
    decided_by: str
    decided_at: dt.datetime
    given_by: str | None = None  # who gave or refused it: parent, carer or the child
    approved_by: str | None = None
    reason: str | None = None
    lawful_basis: str | None = None
    family_informed: FamilyInformed = "no"
    family_informed_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.decided_by.strip():
            raise InvalidConsent("consent.decided_by is required")
        if self.decided_at.tzinfo is None:
            raise InvalidConsent("consent.decided_at must carry a time zone")
        if self.family_informed in ("no", "deferred") and not self.family_informed_reason:
            raise InvalidConsent(
                "consent.family_informed_reason is required when the family was not told "
                "(golden rule 2: be open with the family unless that is unsafe)"
            )


@dataclass(frozen=True, slots=True)
class GateOutcome:
    """One recorded gate decision: which gate, pass or refuse, and why."""

    gate: str
    passed: bool
    reason: str
    partner_id: str | None = None


def consent_gate(decision: ConsentDecision | None) -> GateOutcome:
    """May the enquiry proceed on the recorded consent decision?

    Consent given: proceed. Refused, not sought or withdrawn: proceed only with a
    recorded reason, a lawful basis and an approving manager other than the
    decision-maker (MASH.md §2.1, Portsmouth record-keeping; WT2023: consent is
    not needed where a child is at risk, but the decision must be recorded).
    """
    if decision is None:
        return GateOutcome("consent", False, "no consent decision is recorded")
    if decision.status is ConsentStatus.GIVEN:
        return GateOutcome("consent", True, f"consent given by {decision.given_by or 'family'}")
    missing = [
        name
        for name, value in (
            ("reason", decision.reason),
            ("lawful_basis", decision.lawful_basis),
            ("approved_by", decision.approved_by),
        )
        if not (value and value.strip())
    ]
    if missing:
        return GateOutcome(
            "consent",
            False,
            f"consent {decision.status.value}: proceeding needs a recorded "
            f"{', '.join(missing)}",
        )
    if decision.approved_by == decision.decided_by:
        return GateOutcome(
            "consent",
            False,
            f"consent {decision.status.value}: the approving manager must be someone "
            "other than the person who decided",
        )
    return GateOutcome(
        "consent",
        True,
        f"consent {decision.status.value}; proceeding on lawful basis {decision.lawful_basis}, "
        f"approved by {decision.approved_by}: {decision.reason}",
    )
