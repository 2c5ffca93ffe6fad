"""Screening a contact: a BRAG proposed with a Signs of Safety rationale, sanctioned by a manager.

Signs of Safety (MASH.md §6) asks four questions: what are we worried about, what is working
well, what needs to happen, and where the case sits on a 0-10 scale. Which end of the scale
means "safe" varies between authorities (unverified), so the scale's meaning is stated with
it: here 0 means "the child is not safe, act now" and 10 means "safe enough to close".

A screening officer proposes; a MASH manager sanctions (as proposed, or with another rating
and a reason). Any later change of rating is a `Rerating` with a reason (Surrey requires a
written rationale for any change, MASH.md §1.1), kept as history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from broker.domain.brag import Brag
from broker.domain.errors import DomainError

SCALE_MIN, SCALE_MAX = 0, 10
SCALE_MEANING = "0 = not safe, act now; 10 = safe enough to close"
MAX_TEXT = 4000


class InvalidScreening(DomainError):
    """A screening record is incomplete or inconsistent; the message says which part."""


def _text(name: str, value: object, *, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidScreening(f"{name} is required and cannot be blank")
    if len(value) > limit:
        raise InvalidScreening(f"{name} is longer than {limit} characters")
    return value.strip()


def _aware(name: str, at: dt.datetime) -> None:
    if not isinstance(at, dt.datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InvalidScreening(f"{name} must carry a time zone")


@dataclass(frozen=True, slots=True)
class SignsOfSafety:
    """The structured rationale of a rating."""

    worries: str
    working_well: str
    needs_to_happen: str
    scale: int

    def __post_init__(self) -> None:
        for name in ("worries", "working_well", "needs_to_happen"):
            object.__setattr__(self, name, _text(f"signs_of_safety.{name}", getattr(self, name)))
        if isinstance(self.scale, bool) or not isinstance(self.scale, int):
            raise InvalidScreening("signs_of_safety.scale must be a whole number")
        if not SCALE_MIN <= self.scale <= SCALE_MAX:
            raise InvalidScreening(
                f"signs_of_safety.scale must be between {SCALE_MIN} and {SCALE_MAX} ({SCALE_MEANING})"
            )


@dataclass(frozen=True, slots=True)
class BragProposal:
    """A screening officer's proposed rating and why."""

    brag: Brag
    rationale: SignsOfSafety
    proposed_by: str
    proposed_at: dt.datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "proposed_by", _text("proposed_by", self.proposed_by, limit=200))
        _aware("proposed_at", self.proposed_at)


@dataclass(frozen=True, slots=True)
class Sanction:
    """A manager's confirmed rating.

    `as_proposed` is True when it confirms a proposal unchanged. A manager screening a contact
    without a proposal gives their own Signs of Safety `rationale`; a manager changing a
    proposal's rating gives a `reason` (recorded as a re-rating from the proposal).
    """

    brag: Brag
    sanctioned_by: str
    sanctioned_at: dt.datetime
    as_proposed: bool
    rationale: SignsOfSafety | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sanctioned_by", _text("sanctioned_by", self.sanctioned_by, limit=200))
        _aware("sanctioned_at", self.sanctioned_at)
        if self.reason is not None:
            object.__setattr__(self, "reason", _text("reason", self.reason))


@dataclass(frozen=True, slots=True)
class Rerating:
    """A change of rating: from, to, why, by whom, when (kept as history)."""

    from_brag: Brag
    to_brag: Brag
    reason: str
    by: str
    at: dt.datetime

    def __post_init__(self) -> None:
        if self.from_brag is self.to_brag:
            raise InvalidScreening(f"a re-rating must change the rating (it is already {self.to_brag.value})")
        object.__setattr__(self, "reason", _text("reason for re-rating", self.reason))
        object.__setattr__(self, "by", _text("by", self.by, limit=200))
        _aware("at", self.at)
