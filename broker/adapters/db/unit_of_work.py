"""One database transaction around a use case: all its effects commit together or none do."""

from __future__ import annotations

import asyncio
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction

from broker.adapters.db.audit_store import AuditRepository
from broker.adapters.db.contacts_repository import (
    ContactRepository,
    DecisionRepository,
    FeedbackRepository,
    NotificationRepository,
)
from broker.adapters.db.crypto import RowCipher
from broker.adapters.db.deliveries_repository import DeliveryRepository
from broker.adapters.db.engine import is_sqlite
from broker.adapters.db.front_door_retention import ContactRetentionRepository
from broker.adapters.db.outbox import OutboxRepository
from broker.adapters.db.repository import EnquiryRepository, RejectionRepository, SummaryRepository


class SqlUnitOfWork:
    enquiries: EnquiryRepository
    summaries: SummaryRepository
    outbox: OutboxRepository
    rejections: RejectionRepository
    audit: AuditRepository
    deliveries: DeliveryRepository
    contacts: ContactRepository
    decisions: DecisionRepository
    feedback: FeedbackRepository
    notifications: NotificationRepository
    contact_retention: ContactRetentionRepository

    def __init__(self, engine: AsyncEngine, cipher: RowCipher, *,
                 writer_lock: asyncio.Lock | None = None) -> None:
        self._engine = engine
        self._cipher = cipher
        self._writer_lock = writer_lock
        self._connection: AsyncConnection | None = None
        self._transaction: AsyncTransaction | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        if self._writer_lock is not None:
            # SQLite: one writing transaction at a time in this process. A deferred
            # transaction that reads and then writes can otherwise fail at once with
            # SQLITE_BUSY when another commits in between, whatever the busy timeout.
            await self._writer_lock.acquire()
        try:
            self._connection = await self._engine.connect()
            self._transaction = await self._connection.begin()
        except BaseException:
            if self._connection is not None:
                await self._connection.close()
            self._release()
            raise
        c = self._connection
        self.enquiries = EnquiryRepository(c, self._cipher)
        self.summaries = SummaryRepository(c, self._cipher)
        self.outbox = OutboxRepository(
            c, skip_locked=not is_sqlite(str(self._engine.url)), cipher=self._cipher
        )
        self.rejections = RejectionRepository(c)
        self.contacts = ContactRepository(c, self._cipher)
        self.decisions = DecisionRepository(c, self._cipher)
        self.feedback = FeedbackRepository(c)
        self.notifications = NotificationRepository(c, self._cipher)
        self.contact_retention = ContactRetentionRepository(c)
        self.deliveries = DeliveryRepository(
            c, self._cipher, skip_locked=not is_sqlite(str(self._engine.url))
        )
        self.audit = AuditRepository(c, inbox=True)  # sequenced later: no global lock held
        return self

    async def commit(self) -> None:
        assert self._transaction is not None
        await self._transaction.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._connection is not None and self._transaction is not None
        try:
            if self._transaction.is_active:
                await self._transaction.rollback()
        finally:
            try:
                await self._connection.close()
            finally:
                self._release()

    def _release(self) -> None:
        if self._writer_lock is not None and self._writer_lock.locked():
            self._writer_lock.release()
