"""When a contact's personal data is purged (data protection: kept no longer than needed).

A contact that led to an enquiry goes with that enquiry: once the partners' findings are
purged at the end of the agreement's retention period (and nothing the partners shared is
still held), the contact's personal data goes too. A contact that never led to an enquiry
(routed to the allocated worker, closed blue, decided from screening) is purged a configured
number of days after it finished. What stays: ids, states, times, ratings, the outcome (the
timeliness statistics count them) and the signed decision's SHA-256 as its tombstone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from broker.domain.errors import DomainError

DEFAULT_RETENTION_DAYS = 730


class ContactPurged(DomainError):
    """The contact's personal data was purged at the end of its retention period (HTTP 410)."""

    def __init__(self, contact_id: str, purged_at: dt.datetime, *, allocated_worker_id: str | None = None,
                 decision_sha256: str | None = None) -> None:
        self.contact_id = contact_id
        self.purged_at = purged_at
        self.allocated_worker_id = allocated_worker_id
        self.decision_sha256 = decision_sha256
        message = (f"contact {contact_id} was purged on {purged_at.date().isoformat()} at the end of "
                   "its retention period")
        if decision_sha256:
            message += f"; SHA-256 of the signed decision: {decision_sha256}"
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class PurgedContact:
    """What one purge removed, by id only (for the audit tombstone)."""

    contact_id: str
    enquiry_id: str | None
    decision_id: str | None
    decision_sha256: str | None
    notification_ids: tuple[str, ...]
    view_ids: tuple[str, ...]
    reratings: int
    consent_checks: int
