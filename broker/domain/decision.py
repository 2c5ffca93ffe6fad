"""The manager's decision on a contact, and the feedback the referrer gets.

MASH.md §1.1 stage 6: the outcome is a CSC assessment (s17 or s47), Early Help or another
team, or NFA; §1.2: the colour and the outcome are separate fields (the manager decides the
route). Stage 8: decisions are "timed, dated and signed": the decision record is signed by the
broker (compact JWS over its RFC 8785 canonical JSON, `payload()` below) and names the exact
summary it was made on (id and SHA-256 of the signed summary).

Stage 7: every decision goes back to the referrer. The referrer hears the outcome only: never
what partners shared, never the rationale (which may rest on partner information).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from typing import Any

from broker.domain.brag import Brag
from broker.domain.errors import DomainError

DECISION_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class InvalidDecision(DomainError):
    """A decision record is incomplete or inconsistent; the message says which part."""


class Outcome(str, enum.Enum):
    SECTION_17_ASSESSMENT = "section_17_assessment"
    SECTION_47_STRATEGY_DISCUSSION = "section_47_strategy_discussion"
    EARLY_HELP = "early_help"
    SUPPORTING_FAMILIES = "supporting_families"
    UNIVERSAL_SERVICES_ADVICE = "universal_services_advice"
    NO_FURTHER_ACTION = "no_further_action"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def referrer_message(self) -> str:
        """What the referrer is told: the route the contact takes, nothing about anyone's records."""
        return _MESSAGES[self]


_LABELS = {
    Outcome.SECTION_17_ASSESSMENT: "Child and family assessment (child in need, Children Act 1989 s17)",
    Outcome.SECTION_47_STRATEGY_DISCUSSION: "Child protection: strategy discussion (Children Act 1989 s47)",
    Outcome.EARLY_HELP: "Early Help",
    Outcome.SUPPORTING_FAMILIES: "Supporting Families",
    Outcome.UNIVERSAL_SERVICES_ADVICE: "Universal services advice",
    Outcome.NO_FURTHER_ACTION: "No further action",
}

_MESSAGES = {
    Outcome.SECTION_17_ASSESSMENT: "Your contact has been passed to children's social care for a "
                                   "child and family assessment.",
    Outcome.SECTION_47_STRATEGY_DISCUSSION: "Your contact has been passed to children's social care "
                                            "under child protection procedures.",
    Outcome.EARLY_HELP: "Your contact has been passed to Early Help, who will offer support to the family.",
    Outcome.SUPPORTING_FAMILIES: "Your contact has been passed to the Supporting Families programme.",
    Outcome.UNIVERSAL_SERVICES_ADVICE: "The MASH found no need for a social care response; the family "
                                       "is signposted to universal services.",
    Outcome.NO_FURTHER_ACTION: "The MASH has decided that no further action is needed from children's "
                               "social care at this time.",
}


def _format(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Decision:
    """What the manager decided on a contact, on which summary, why, by whom, when."""

    decision_id: str
    contact_id: str
    outcome: Outcome
    rationale: str
    decided_by: str
    decided_at: dt.datetime
    brag: Brag | None
    enquiry_id: str | None = None
    summary_id: str | None = None
    summary_sha256: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.rationale, str) or not self.rationale.strip():
            raise InvalidDecision("a decision needs a rationale")
        if len(self.rationale) > 8000:
            raise InvalidDecision("the rationale is longer than 8000 characters")
        object.__setattr__(self, "rationale", self.rationale.strip())
        if not self.decided_by.strip():
            raise InvalidDecision("decided_by is required")
        if self.decided_at.tzinfo is None:
            raise InvalidDecision("decided_at must carry a time zone")
        if (self.summary_id is None) != (self.summary_sha256 is None):
            raise InvalidDecision("a decision on a summary names both its id and its SHA-256")
        if self.summary_sha256 is not None and not _SHA256.match(self.summary_sha256):
            raise InvalidDecision("summary_sha256 must be 64 lower-case hex digits")
        if self.summary_id is not None and self.enquiry_id is None:
            raise InvalidDecision("a decision on a summary names the enquiry too")

    def payload(self) -> dict[str, Any]:
        """What is signed: every field, times in UTC with microseconds."""
        return {
            "type": "mash-contact-decision",
            "v": DECISION_VERSION,
            "decision_id": self.decision_id,
            "contact_id": self.contact_id,
            "enquiry_id": self.enquiry_id,
            "summary_id": self.summary_id,
            "summary_sha256": self.summary_sha256,
            "brag": self.brag.value if self.brag else None,
            "outcome": self.outcome.value,
            "rationale": self.rationale,
            "decided_by": self.decided_by,
            "decided_at": _format(self.decided_at),
        }

    def matches(self, payload: dict[str, Any]) -> list[str]:
        """The fields where a signed payload differs from this record (empty: it matches)."""
        ours = self.payload()
        return sorted(k for k in set(ours) | set(payload) if ours.get(k) != payload.get(k))


@dataclass(frozen=True, slots=True)
class ReferrerFeedback:
    """What the referrer is told, and by when: the outcome, nothing else."""

    feedback_id: str
    contact_id: str
    decision_id: str
    outcome: Outcome
    created_at: dt.datetime
    due_at: dt.datetime | None
    given_at: dt.datetime | None = None
    given_by: str | None = None
    method: str | None = None  # phone | email | letter | in_person

    @property
    def message(self) -> str:
        return self.outcome.referrer_message

    def overdue(self, now: dt.datetime) -> bool:
        return self.given_at is None and self.due_at is not None and now > self.due_at

    def view(self) -> dict[str, Any]:
        """Everything the referrer may be told (and the bookkeeping of telling them)."""
        return {
            "contact_id": self.contact_id,
            "outcome": self.outcome.value,
            "outcome_label": self.outcome.label,
            "message": self.message,
        }
