"""The audit entries each use case records, in the same transaction as its effect.

Who (actor), what (action), about which enquiry, with what outcome, and the reason
or lawful basis for every share and every refusal; ids only in the details.
"""

from __future__ import annotations

import datetime as dt

from broker.domain.audit import AuditEntry
from broker.domain.enquiry import Enquiry, RequestStatus

BROKER = "broker"


def _code(text: str) -> str:
    return text.lower().replace(" ", "_")


def enquiry_opened(enquiry: Enquiry, actor: str, at: dt.datetime) -> list[AuditEntry]:
    entries = [
        AuditEntry(at=at, actor=actor, action="enquiry.opened", outcome=enquiry.state.value,
                   enquiry_id=enquiry.enquiry_id, reason=enquiry.refusal_reason,
                   details={"purpose_id": enquiry.purpose})
    ]
    for gate in enquiry.gate_outcomes:
        details = {"partner_id": gate.partner_id} if gate.partner_id else {}
        entries.append(AuditEntry(
            at=at, actor=actor, action=f"gate.{gate.gate}", outcome="passed" if gate.passed else "refused",
            enquiry_id=enquiry.enquiry_id, reason=gate.reason[:2000], details=details,
        ))
    for request in enquiry.requests:
        if request.status is RequestStatus.PENDING:
            entries.append(AuditEntry(
                at=at, actor=actor, action="request.issued", outcome="queued",
                enquiry_id=enquiry.enquiry_id,
                reason=f"under agreement {request.agreement_id} v{request.agreement_version}: "
                       f"{', '.join(request.categories)}",
                details={"partner_id": request.partner_id, "request_id": request.request_id,
                         "agreement_id": str(request.agreement_id),
                         "agreement_version": str(request.agreement_version)},
            ))
    return entries


def reply_recorded(enquiry_id: str, partner_id: str, request_id: str, outcome: str, late: bool,
                   at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=partner_id, action="reply.recorded",
                      outcome=f"{outcome}.late" if late else outcome, enquiry_id=enquiry_id,
                      details={"partner_id": partner_id, "request_id": request_id})


def reply_rejected(reason: str, at: dt.datetime, *, enquiry_id: str | None = None, partner_id: str | None = None,
                   request_id: str | None = None) -> AuditEntry:
    details = {k: v for k, v in (("partner_id", partner_id), ("request_id", request_id)) if v}
    return AuditEntry(at=at, actor=partner_id or "unknown", action="reply.rejected", outcome="rejected",
                      enquiry_id=enquiry_id, reason=reason[:2000], details=details)


def summary_issued(enquiry: Enquiry, summary_id: str, version: int, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=BROKER, action="summary.issued", outcome=enquiry.state.value,
                      enquiry_id=enquiry.enquiry_id, reason=f"completion: {enquiry.completion}",
                      details={"summary_id": summary_id, "summary_version": version})


def enquiry_expired(enquiry: Enquiry, at: dt.datetime) -> AuditEntry:
    silent = [r.partner_id for r in enquiry.requests if r.status is RequestStatus.NO_REPLY]
    return AuditEntry(at=at, actor=BROKER, action="enquiry.closed", outcome="partial",
                      enquiry_id=enquiry.enquiry_id, reason="deadline passed",
                      details={"partner_ids": silent})


def request_chased(enquiry_id: str, partner_id: str, request_id: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=BROKER, action="request.chased", outcome="resent", enquiry_id=enquiry_id,
                      reason="no reply at the chase point", details={"partner_id": partner_id, "request_id": request_id})


def request_undeliverable(enquiry_id: str, partner_id: str, request_id: str, reason: str,
                          at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=BROKER, action="request.undeliverable", outcome="undeliverable",
                      enquiry_id=enquiry_id, reason=reason[:2000],
                      details={"partner_id": partner_id, "request_id": request_id})


def summary_read(enquiry_id: str, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="summary.read", outcome="read", enquiry_id=enquiry_id)


def access_denied(actor: str, action: str, route: str, status: int, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="access.denied", outcome=f"http_{status}",
                      reason=f"{_code(action)} on {route}"[:2000])
