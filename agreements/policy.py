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

    Versions of one agreement supersede each other: of the versions in force on
    `day` for `purpose`, only the newest counts (latest `effective_from`, then
    highest version), so a new version that narrows a partner's categories, or
    allows it none, really narrows what is asked; never a union of versions.
    A partner is then asked under the newest of those agreements that allows it
    at least one category, for exactly that agreement's categories. Ties are
    broken by version and id, so file order never changes the answer.
    """
    current: dict[str, Agreement] = {}
    reasons: dict[str, tuple[str, list[str]]] = {}
    for agreement in agreements:
        why_not = agreement.why_not_in_force(day)
        if why_not is None and purpose not in agreement.purposes:
            why_not = (
                f"agreement {agreement.agreement_id} v{agreement.version} "
                f"does not cover the purpose {purpose!r}"
            )
        for party in agreement.parties:
            reasons.setdefault(party.partner_id, (party.name, []))
            if why_not is not None:
                reasons[party.partner_id][1].append(why_not)
        if why_not is None:
            held = current.get(agreement.agreement_id)
            if held is None or _newest(agreement) > _newest(held):
                current[agreement.agreement_id] = agreement

    for agreement in agreements:
        newest = current.get(agreement.agreement_id)
        if newest is not None and newest is not agreement and agreement.in_force_on(day):
            for party in agreement.parties:
                reasons[party.partner_id][1].append(
                    f"agreement {agreement.agreement_id} v{agreement.version} is superseded "
                    f"by v{newest.version}"
                )

    asked: list[PartnerScope] = []
    excluded: list[Exclusion] = []
    for partner_id in sorted(reasons):
        name, why = reasons[partner_id]
        naming = [(a, a.party(partner_id)) for a in current.values() if a.party(partner_id)]
        allowing = [(a, p) for a, p in naming if p is not None and p.categories]
        if not allowing:
            why = why + [
                f"agreement {a.agreement_id} v{a.version} allows this partner no data categories"
                for a, _ in naming
            ]
            excluded.append(Exclusion(partner_id, name, "; ".join(sorted(set(why)))))
            continue
        agreement, party = max(allowing, key=lambda c: _newest(c[0]))
        assert party is not None
        asked.append(
            PartnerScope(
                partner_id=partner_id,
                partner_name=party.name,
                agreement_id=agreement.agreement_id,
                agreement_version=agreement.version,
                categories=party.categories,
                retention_days=party.retention_days or agreement.retention_days,
            )
        )
    return ScopeDecision(asked=tuple(asked), excluded=tuple(excluded))


def _newest(agreement: Agreement) -> tuple[dt.date, tuple[int, ...], str]:
    version = tuple(int(part) for part in agreement.version.split(".") if part.isdigit())
    return (agreement.effective_from, version, agreement.agreement_id)


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
