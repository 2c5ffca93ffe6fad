"""The ISA as plain, immutable values (no I/O, no framework)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Party:
    """A partner agency party to the agreement."""

    partner_id: str
    name: str
    organisation_type: str
    public_jwk: dict[str, str]
    categories: frozenset[str]
    retention_days: int
    signatory: str
    signed_at: dt.date | None = None


@dataclass(frozen=True, slots=True)
class LawfulBasis:
    """A lawful basis the agreement relies on (UK GDPR Art 6/9/10 and statutory power)."""

    code: str
    description: str


@dataclass(frozen=True, slots=True)
class Agreement:
    """A machine-readable Information Sharing Agreement (ISA)."""

    agreement_id: str
    version: str
    title: str
    purposes: frozenset[str]
    parties: tuple[Party, ...]
    lawful_bases: tuple[LawfulBasis, ...]
    effective_from: dt.date
    effective_to: dt.date | None
    review_due: dt.date
    retention_days: int
    status: str = "active"
    owner: str = ""
    data_categories: dict[str, str] = field(default_factory=dict)

    def party(self, partner_id: str) -> Party | None:
        """The party with this partner id, if any."""
        for party in self.parties:
            if party.partner_id == partner_id:
                return party
        return None

    def in_force_on(self, day: dt.date) -> bool:
        """Whether the agreement is active and `day` lies within its effective dates."""
        if self.status != "active":
            return False
        if day < self.effective_from:
            return False
        return self.effective_to is None or day <= self.effective_to

    def why_not_in_force(self, day: dt.date) -> str | None:
        """A reason the agreement is not in force on `day`, or None when it is."""
        if self.status != "active":
            return f"agreement {self.agreement_id} v{self.version} has status {self.status}"
        if day < self.effective_from:
            return (
                f"agreement {self.agreement_id} v{self.version} takes effect "
                f"on {self.effective_from.isoformat()}"
            )
        if self.effective_to is not None and day > self.effective_to:
            return (
                f"agreement {self.agreement_id} v{self.version} ended "
                f"on {self.effective_to.isoformat()}"
            )
        return None
