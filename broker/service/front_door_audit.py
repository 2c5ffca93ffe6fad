"""The audit entries of the front door's use cases (ids and codes only: no referrer, no child,
no free text written by staff; the reasons themselves are sealed with the contact)."""

from __future__ import annotations

import datetime as dt

from broker.domain.audit import AuditEntry
from broker.domain.brag import Brag
from broker.domain.contact import AllocatedWorker, Contact


def _ids(contact: Contact, **more: str | None) -> dict[str, str]:
    return {"contact_id": contact.contact_id, **{k: v for k, v in more.items() if v}}


def contact_recorded(contact: Contact, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="contact.recorded", outcome=contact.state.value,
                      reason=f"authority {contact.authority}", details=_ids(contact))


def allocation_checked(contact: Contact, worker: AllocatedWorker | None, at: dt.datetime) -> AuditEntry:
    if worker is None:
        return AuditEntry(at=at, actor="broker", action="contact.allocation_checked", outcome="not_allocated",
                          reason="no active allocation matches the child", details=_ids(contact))
    return AuditEntry(at=at, actor="broker", action="contact.allocation_checked", outcome="allocated",
                      reason=f"matched by {worker.matched_by}",
                      details=_ids(contact, worker_id=worker.worker_id, case_id=worker.case_id))


def contact_routed(contact: Contact, worker: AllocatedWorker, notification_id: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor="broker", action="contact.routed", outcome="notified",
                      reason="the child has an allocated social worker: no MASH enquiry",
                      details=_ids(contact, worker_id=worker.worker_id, notification_id=notification_id))


def proposed(contact: Contact, brag: Brag, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="contact.proposed", outcome=brag.value,
                      reason="signs of safety rationale recorded", details=_ids(contact))


def sanctioned(contact: Contact, brag: Brag, actor: str, at: dt.datetime, *, changed_from: Brag | None) -> AuditEntry:
    reason = f"re-rated from the proposed {changed_from.value}" if changed_from else (
        "as proposed" if contact.proposal else "screened by the manager")
    return AuditEntry(at=at, actor=actor, action="contact.sanctioned", outcome=brag.value,
                      reason=f"{reason}; due {_due(contact)}", details=_ids(contact))


def rerated(contact: Contact, from_brag: Brag, to_brag: Brag, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="contact.rerated", outcome=to_brag.value,
                      reason=f"{from_brag.value} to {to_brag.value}, with a recorded reason; due {_due(contact)}",
                      details=_ids(contact, enquiry_id=contact.enquiry_id))


def closed_universal(contact: Contact, decision_id: str, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="contact.closed", outcome="universal_services_advice",
                      reason="blue: universal-services advice recorded", details=_ids(contact, decision_id=decision_id))


def consent_checked(contact: Contact, passed: bool, enquiry_id: str | None, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="contact.consent_checked", outcome="passed" if passed else "refused",
                      enquiry_id=enquiry_id, reason="consent gate run again at the enquiry",
                      details=_ids(contact))


def enquiry_linked(contact: Contact, enquiry_id: str, state: str, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="contact.enquiry_opened", outcome=state, enquiry_id=enquiry_id,
                      reason=f"opened from the contact at {contact.brag.value if contact.brag else 'no'} rating",
                      details=_ids(contact))


def decision_recorded(contact: Contact, decision_id: str, outcome: str, summary_id: str | None, actor: str,
                      at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="decision.recorded", outcome=outcome, enquiry_id=contact.enquiry_id,
                      reason="signed decision record" + (" on the enquiry summary" if summary_id else " from screening"),
                      details=_ids(contact, decision_id=decision_id, summary_id=summary_id))


def feedback_due(contact: Contact, feedback_id: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor="broker", action="feedback.created", outcome="due",
                      reason="the referrer is told the outcome only", details=_ids(contact, feedback_id=feedback_id))


def feedback_given(contact_id: str, method: str, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="feedback.given", outcome=method,
                      details={"contact_id": contact_id})


def contact_read(contact_id: str, actor: str, referrer_shown: bool, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="contact.read",
                      outcome="with_referrer" if referrer_shown else "without_referrer",
                      details={"contact_id": contact_id})


def decision_read(contact_id: str, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="decision.read", outcome="read", details={"contact_id": contact_id})


def notifications_delivered(recipient: str, ids: list[str], at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=recipient, action="notification.delivered", outcome="delivered",
                      details={"notification_ids": ids})


def _due(contact: Contact) -> str:
    if contact.due is None:
        return "none (no target)"
    return f"{contact.due.at.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} ({contact.due.basis})"
