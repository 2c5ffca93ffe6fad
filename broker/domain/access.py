"""Who may do what: the authorization rules, enforced in the service layer.

Roles (from the identity provider's token): screening_officer, mash_manager,
auditor, admin, and service:<receiving service>. Denials of an action are 403;
denials of a particular enquiry are "not found" (404), so ids reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from broker.domain.consent import ConsentDecision, ConsentStatus
from broker.domain.errors import DomainError

SCREENING_OFFICER = "screening_officer"
MASH_MANAGER = "mash_manager"
AUDITOR = "auditor"
ADMIN = "admin"
SERVICE_PREFIX = "service:"
SOCIAL_WORKER = "social_worker"  # an allocated worker: sees the contacts routed to them
KNOWN_ROLES = frozenset({SCREENING_OFFICER, MASH_MANAGER, AUDITOR, ADMIN, SOCIAL_WORKER})


class Denied(DomainError):
    """An authorization denial, carrying who was denied what (for the audit log)."""

    def __init__(self, message: str, *, actor: str = "anonymous", action: str = "unknown",
                 enquiry_id: str | None = None) -> None:
        super().__init__(message)
        self.actor = actor
        self.action = action
        self.enquiry_id = enquiry_id


class Forbidden(Denied):
    """The principal may not perform this action at all."""


class NotVisible(Denied):
    """The principal may not see this resource; answered as if it did not exist."""

    what = "enquiry"  # the HTTP answer is "no such <what>"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        return role in self.roles

    @property
    def services(self) -> frozenset[str]:
        return frozenset(r[len(SERVICE_PREFIX):] for r in self.roles if r.startswith(SERVICE_PREFIX))


def valid_role(role: str) -> bool:
    return role in KNOWN_ROLES or (role.startswith(SERVICE_PREFIX) and len(role) > len(SERVICE_PREFIX))


def authorize_open(principal: Principal, consent: ConsentDecision | None) -> None:
    """Screening officers and managers open enquiries; proceeding without consent given
    (refused, not sought, withdrawn) is a manager's decision to record."""
    if not (principal.has(SCREENING_OFFICER) or principal.has(MASH_MANAGER)):
        raise Forbidden("opening an enquiry needs the screening_officer or mash_manager role",
                        actor=principal.subject, action="open_enquiry")
    if consent is not None and consent.status is not ConsentStatus.GIVEN and not principal.has(MASH_MANAGER):
        raise Forbidden("recording a decision to proceed without consent needs the mash_manager role",
                        actor=principal.subject, action="consent_override")


def authorize_list(principal: Principal) -> str | None:
    """May list enquiries; returns the opener to restrict to (a screening officer sees their own)."""
    if principal.has(MASH_MANAGER) or principal.has(AUDITOR):
        return None
    if principal.has(SCREENING_OFFICER):
        return principal.subject
    raise Forbidden("listing enquiries needs the screening_officer, mash_manager or auditor role",
                    actor=principal.subject, action="list_enquiries")


def authorize_read(principal: Principal, opened_by: str, enquiry_id: str | None = None) -> None:
    """Managers and auditors read any enquiry's record; a screening officer their own."""
    if principal.has(MASH_MANAGER) or principal.has(AUDITOR):
        return
    if principal.has(SCREENING_OFFICER) and principal.subject == opened_by:
        return
    raise NotVisible("no such enquiry", actor=principal.subject, action="read_enquiry", enquiry_id=enquiry_id)


def authorize_summary(principal: Principal, opened_by: str, enquiry_id: str | None = None) -> None:
    """The full summary (partner findings) is for the MASH: managers, and the officer who
    opened the enquiry. Auditors see the record, not the partners' information."""
    if principal.has(MASH_MANAGER):
        return
    if principal.has(SCREENING_OFFICER) and principal.subject == opened_by:
        return
    raise NotVisible("no such enquiry", actor=principal.subject, action="read_summary", enquiry_id=enquiry_id)


def authorize_audit(principal: Principal) -> None:
    if not (principal.has(AUDITOR) or principal.has(ADMIN)):
        raise Forbidden("reading the audit log needs the auditor or admin role",
                        actor=principal.subject, action="read_audit")


# --- The front door: contacts, screening, decisions (broker/domain/contact.py) ---------------


def authorize_reports(principal: Principal) -> None:
    """The timeliness and thresholds reports (counts, times, ratings and outcomes; no
    personal data) are for managers and auditors."""
    if not (principal.has(MASH_MANAGER) or principal.has(AUDITOR)):
        raise Forbidden("reading the timeliness reports needs the mash_manager or auditor role",
                        actor=principal.subject, action="read_reports")


class NoSuchContact(NotVisible):
    """A contact the principal may not see (or that does not exist): answered 404 "no such contact"."""

    what = "contact"


def _staff(principal: Principal) -> bool:
    return principal.has(SCREENING_OFFICER) or principal.has(MASH_MANAGER)


def is_mash_staff(principal: Principal) -> bool:
    """Screening officers and managers: who work the front-door queue (and see who is in it)."""
    return _staff(principal)


def authorize_record_contact(principal: Principal) -> None:
    """Screening officers and managers record contacts."""
    if not _staff(principal):
        raise Forbidden("recording a contact needs the screening_officer or mash_manager role",
                        actor=principal.subject, action="record_contact")


def authorize_propose(principal: Principal) -> None:
    """Screening officers (and managers) propose a rating."""
    if not _staff(principal):
        raise Forbidden("proposing a rating needs the screening_officer or mash_manager role",
                        actor=principal.subject, action="propose_brag")


def authorize_manager_step(principal: Principal, action: str) -> None:
    """Sanctioning, re-rating, closing, opening an enquiry from a contact and deciding are the
    MASH manager's."""
    if not principal.has(MASH_MANAGER):
        raise Forbidden(f"{action.replace('_', ' ')} needs the mash_manager role",
                        actor=principal.subject, action=action)


def authorize_contact_list(principal: Principal) -> None:
    """The front-door queue: officers, managers and auditors."""
    if not (_staff(principal) or principal.has(AUDITOR)):
        raise Forbidden("listing contacts needs the screening_officer, mash_manager or auditor role",
                        actor=principal.subject, action="list_contacts")


def authorize_contact_read(principal: Principal, contact_id: str, allocated_worker_id: str | None) -> bool:
    """May read the contact; returns whether the referrer's identity may be shown.

    Officers and managers see everything; the allocated social worker sees the contacts routed
    to them (referrer included: they follow it up); auditors see the record without the
    referrer's identity; anyone else is told there is no such contact (404).
    """
    if _staff(principal):
        return True
    if principal.has(SOCIAL_WORKER) and allocated_worker_id is not None and principal.subject == allocated_worker_id:
        return True
    if principal.has(AUDITOR):
        return False
    raise NoSuchContact("no such contact", actor=principal.subject, action="read_contact", enquiry_id=None)


def authorize_feedback(principal: Principal, contact_id: str, *, give: bool = False) -> None:
    """The referrer's feedback (the outcome only) is given by MASH staff (officers and managers);
    auditors may read whether and when it was given."""
    if _staff(principal) or (principal.has(AUDITOR) and not give):
        return
    if principal.has(AUDITOR):
        raise Forbidden("recording feedback as given needs the screening_officer or mash_manager role",
                        actor=principal.subject, action="feedback_given")
    raise NoSuchContact("no such contact", actor=principal.subject, action="read_feedback")


def authorize_decision_read(principal: Principal, contact_id: str) -> None:
    """The signed decision record: managers, officers and auditors (it is the record)."""
    if not (_staff(principal) or principal.has(AUDITOR)):
        raise NoSuchContact("no such contact", actor=principal.subject, action="read_decision")


def authorize_notifications(principal: Principal) -> str | None:
    """Managers and auditors see every notification; a social worker their own (returns the
    recipient to restrict to)."""
    if principal.has(MASH_MANAGER) or principal.has(AUDITOR):
        return None
    if principal.has(SOCIAL_WORKER) or principal.has(SCREENING_OFFICER):
        return principal.subject
    raise Forbidden("reading notifications needs a staff role", actor=principal.subject,
                    action="read_notifications")
