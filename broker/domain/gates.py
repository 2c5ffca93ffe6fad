"""The gates every enquiry passes before any message leaves: consent, then agreement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from agreements.model import Agreement
from agreements.policy import decide_scope
from broker.domain.consent import GateOutcome, consent_gate
from broker.domain.enquiry import Enquiry, PartnerRequest, RequestStatus


def apply_gates(
    enquiry: Enquiry,
    agreements: Iterable[Agreement],
    *,
    day: dt.date,
    at: dt.datetime,
    new_request_id: Callable[[], str],
    wanted_categories: frozenset[str] | None = None,
) -> None:
    """Decide, record and act: refuse the enquiry, or dispatch it to the partners in scope.

    Every decision is appended to `enquiry.gate_outcomes` with its reason, whether
    it let the enquiry through or not. When `wanted_categories` is given (the
    manager narrowing the request to what is necessary), each partner is asked for
    the intersection of those and what its agreement allows.
    """
    consent = consent_gate(enquiry.consent)
    enquiry.gate_outcomes.append(consent)
    if not consent.passed:
        enquiry.refuse(consent.reason)
        return

    scope = decide_scope(agreements, purpose=enquiry.purpose, day=day)
    requests: list[PartnerRequest] = []
    for party in scope.asked:
        categories = party.categories
        if wanted_categories is not None:
            categories = categories & wanted_categories
        if not categories:
            reason = "none of the requested data categories is allowed for this partner"
            enquiry.gate_outcomes.append(GateOutcome("agreement", False, reason, party.partner_id))
            requests.append(
                PartnerRequest(
                    request_id=new_request_id(),
                    partner_id=party.partner_id,
                    partner_name=party.partner_name,
                    status=RequestStatus.NOT_ASKED,
                    reason=reason,
                )
            )
            continue
        ordered = tuple(sorted(categories))
        enquiry.gate_outcomes.append(
            GateOutcome(
                "agreement",
                True,
                f"party to agreement {party.agreement_id} v{party.agreement_version} in force "
                f"for {enquiry.purpose}; asked for {', '.join(ordered)}",
                party.partner_id,
            )
        )
        requests.append(
            PartnerRequest(
                request_id=new_request_id(),
                partner_id=party.partner_id,
                partner_name=party.partner_name,
                status=RequestStatus.PENDING,
                categories=ordered,
                agreement_id=party.agreement_id,
                agreement_version=party.agreement_version,
                retention_days=party.retention_days,
            )
        )
    for exclusion in scope.excluded:
        enquiry.gate_outcomes.append(
            GateOutcome("agreement", False, exclusion.reason, exclusion.partner_id)
        )
        requests.append(
            PartnerRequest(
                request_id=new_request_id(),
                partner_id=exclusion.partner_id,
                partner_name=exclusion.partner_name,
                status=RequestStatus.NOT_ASKED,
                reason=exclusion.reason,
            )
        )

    if not any(r.status is RequestStatus.PENDING for r in requests):
        reason = (
            "none of the requested data categories is allowed to any partner under an "
            f"agreement in force for {enquiry.purpose!r}"
            if scope.asked
            else f"no partner is party to an agreement in force for {enquiry.purpose!r}"
        )
        enquiry.gate_outcomes.append(GateOutcome("agreement", False, reason))
        enquiry.refuse(reason)
        return
    enquiry.dispatch(sorted(requests, key=lambda r: r.partner_id), at)
