"""Which partners may be asked, and for which data categories.

Pure rules over `Agreement` values: the broker's agreement gate and the adapter
SDK's own check both use them, so the two sides can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from agreements.model import Agreement, Party


@dataclass(frozen=True, slots=True)
class PartnerScope:
    """One partner the enquiry may ask, under which agreement, for which categories."""

    partner_id: str
    partner_name: str
    agreement_id: str
    agreement_version: str
    categories: frozenset[str]
    retention_days: int


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A partner known to some agreement that this enquiry may not ask, and why."""

    partner_id: str
    partner_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class ScopeDecision:
    """The outcome of applying the agreements to one enquiry."""

    asked: tuple[PartnerScope, ...]
    excluded: tuple[Exclusion, ...]


def decide_scope(agreements: Iterable[Agreement], *, purpose: str, day: dt.date) -> ScopeDecision:
    """Apply every agreement to an enquiry with `purpose` on `day`.

    A partner is asked when it is a party to at least one agreement that is in
    force on `day` and covers `purpose`; its categories are those that agreement
    lets it share. When several agreements qualify for one partner, the newest
    effective one wins (a later version supersedes an earlier one), never a union,
    so a narrowed agreement really narrows what is asked.
    """
    chosen: dict[str, tuple[Agreement, Party]] = {}
    reasons: dict[str, tuple[str, list[str]]] = {}
    for agreement in sorted(agreements, key=lambda a: (a.agreement_id, a.effective_from)):
        why_not = agreement.why_not_in_force(day)
        if why_not is None and purpose not in agreement.purposes:
            why_not = (
                f"agreement {agreement.agreement_id} v{agreement.version} "
                f"does not cover the purpose {purpose!r}"
            )
        for party in agreement.parties:
            if why_not is not None:
                reasons.setdefault(party.partner_id, (party.name, []))[1].append(why_not)
                continue
            if not party.categories:
                reasons.setdefault(party.partner_id, (party.name, []))[1].append(
                    f"agreement {agreement.agreement_id} v{agreement.version} "
                    "allows this partner no data categories"
                )
                continue
            current = chosen.get(party.partner_id)
            if current is None or agreement.effective_from >= current[0].effective_from:
                chosen[party.partner_id] = (agreement, party)

    asked = tuple(
        PartnerScope(
            partner_id=party.partner_id,
            partner_name=party.name,
            agreement_id=agreement.agreement_id,
            agreement_version=agreement.version,
            categories=party.categories,
            retention_days=party.retention_days or agreement.retention_days,
        )
        for partner_id, (agreement, party) in sorted(chosen.items())
    )
    excluded = tuple(
        Exclusion(partner_id=pid, partner_name=name, reason="; ".join(sorted(set(why))))
        for pid, (name, why) in sorted(reasons.items())
        if pid not in chosen
    )
    return ScopeDecision(asked=asked, excluded=excluded)


def request_is_covered(
    agreements: Iterable[Agreement],
    *,
    agreement_id: str,
    agreement_version: str,
    partner_id: str,
    purpose: str,
    categories: Iterable[str],
    day: dt.date,
) -> str | None:
    """Check, on the partner's side, that a request falls under an agreement in force.

    Returns None when it does, otherwise the reason it does not.
    """
    for agreement in agreements:
        if agreement.agreement_id != agreement_id or agreement.version != agreement_version:
            continue
        why_not = agreement.why_not_in_force(day)
        if why_not is not None:
            return why_not
        if purpose not in agreement.purposes:
            return f"agreement {agreement_id} v{agreement_version} does not cover {purpose!r}"
        party = agreement.party(partner_id)
        if party is None:
            return f"{partner_id} is not a party to agreement {agreement_id} v{agreement_version}"
        extra = sorted(set(categories) - party.categories)
        if extra:
            return f"categories not allowed by the agreement: {', '.join(extra)}"
        return None
    return f"unknown agreement {agreement_id} v{agreement_version}"
