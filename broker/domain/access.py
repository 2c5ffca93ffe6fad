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
KNOWN_ROLES = frozenset({SCREENING_OFFICER, MASH_MANAGER, AUDITOR, ADMIN})


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
