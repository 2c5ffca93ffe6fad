"""What the front-door use cases need from the outside world, beside broker/service/ports.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

from broker.adapters.db.contacts_repository import ContactRow, Notification, StoredDecision
from broker.domain.contact import AllocatedWorker, Contact
from broker.domain.decision import Decision, ReferrerFeedback
from broker.domain.subject import Subject
from broker.service.ports import AuditStore, EnquiryStore, SummaryStore


class CaseSystem(Protocol):
    """The council's case-management system: is a social worker allocated to this child now?"""

    async def allocated_worker(self, subject: Subject) -> AllocatedWorker | None: ...


class ContactStore(Protocol):
    async def add(self, contact: Contact, *, idempotency_key: str | None = ...) -> None: ...
    async def get(self, contact_id: str, *, for_update: bool = ...) -> Contact | None: ...
    async def save(self, contact: Contact) -> None: ...
    async def by_idempotency_key(self, key: str) -> str | None: ...
    async def by_enquiry(self, enquiry_id: str) -> str | None: ...
    async def list(self, *, state: str | None = ..., brag: str | None = ..., overdue_at: dt.datetime | None = ...,
                   limit: int = ..., before: dt.datetime | None = ..., with_child: bool = ...) -> list[ContactRow]: ...


class DecisionStore(Protocol):
    async def add(self, decision: Decision, *, jws: str, kid: str) -> None: ...
    async def for_contact(self, contact_id: str) -> StoredDecision | None: ...


class FeedbackStore(Protocol):
    async def add(self, feedback: ReferrerFeedback) -> None: ...
    async def for_contact(self, contact_id: str) -> ReferrerFeedback | None: ...
    async def mark_given(self, contact_id: str, *, at: dt.datetime, by: str, method: str) -> bool: ...


class NotificationStore(Protocol):
    async def add(self, notification: Notification) -> None: ...
    async def list(self, *, recipient: str | None = ..., undelivered_only: bool = ...,
                   contact_id: str | None = ..., limit: int = ...) -> list[Notification]: ...
    async def mark_delivered(self, notification_ids: Sequence[str], at: dt.datetime) -> None: ...
    async def get(self, notification_id: str) -> Notification | None: ...
    async def acknowledge(self, notification_id: str, *, at: dt.datetime, by: str) -> bool: ...


class FrontDoorUnitOfWork(Protocol):
    contacts: ContactStore
    decisions: DecisionStore
    feedback: FeedbackStore
    notifications: NotificationStore
    enquiries: EnquiryStore
    summaries: SummaryStore
    audit: AuditStore

    async def __aenter__(self) -> FrontDoorUnitOfWork: ...
    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None: ...
    async def commit(self) -> None: ...


FrontDoorUnitOfWorkFactory = Callable[[], FrontDoorUnitOfWork]
