"""Use cases for contacts routed straight to an allocated social worker (issue 6 part 1):
the worker's "Routed to me" list and their acknowledgement of each notification.

Listing does not change anything (unlike GET /notifications, which marks a worker's
notifications delivered on first fetch); acknowledging is audited and idempotent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from broker.adapters.db.contacts_repository import Notification
from broker.domain.access import Principal
from broker.domain.audit import AuditEntry
from broker.domain.routed import authorize_acknowledge, authorize_routed_list
from broker.service.front_door import FrontDoor
from broker.service.front_door_ports import FrontDoorUnitOfWorkFactory
from broker.service.ports import Clock


@dataclass(frozen=True, slots=True)
class Acknowledged:
    notification: Notification
    replayed: bool  # True when it had been acknowledged before (nothing changed)


def _unacknowledged_first(found: list[Notification]) -> list[Notification]:
    newest_first = sorted(found, key=lambda n: (n.created_at, n.notification_id), reverse=True)
    return sorted(newest_first, key=lambda n: n.acknowledged_at is not None)  # stable


def acknowledged_entry(notification: Notification, actor: str, at: dt.datetime) -> AuditEntry:
    return AuditEntry(at=at, actor=actor, action="notification.acknowledged", outcome="acknowledged",
                      reason="the allocated social worker acknowledged the routed contact",
                      details={"notification_id": notification.notification_id,
                               "contact_id": notification.contact_id})


async def routed_contacts(*, actor: Principal, uow_factory: FrontDoorUnitOfWorkFactory,
                          limit: int = 200) -> list[Notification]:
    """A social worker's own routed contacts; every one for managers and auditors.
    Unacknowledged first, newest first within each group."""
    recipient = authorize_routed_list(actor)
    async with uow_factory() as uow:
        found = await uow.notifications.list(recipient=recipient, limit=limit)
    return _unacknowledged_first(found)


async def acknowledge_notification(notification_id: str, *, actor: Principal,
                                   uow_factory: FrontDoorUnitOfWorkFactory, clock: Clock) -> Acknowledged:
    """The recipient acknowledges a routed contact (it counts as delivered too). Only the
    recipient may; acknowledging again changes nothing and is not audited twice."""
    now = clock.now()
    async with uow_factory() as uow:
        found = await uow.notifications.get(notification_id)
        authorize_acknowledge(actor, notification_id, found.recipient if found else None)
        assert found is not None
        if found.acknowledged_at is not None:
            return Acknowledged(found, replayed=True)
        changed = await uow.notifications.acknowledge(notification_id, at=now, by=actor.subject)
        if changed:
            await uow.audit.append(acknowledged_entry(found, actor.subject, now))
            await uow.commit()
        stored = await uow.notifications.get(notification_id)
    assert stored is not None
    return Acknowledged(stored, replayed=not changed)


@dataclass(frozen=True, slots=True)
class RoutedContacts:
    """The use cases above bound to a broker's front door (its unit of work and clock)."""

    uow_factory: FrontDoorUnitOfWorkFactory
    clock: Clock

    @classmethod
    def of(cls, front_door: FrontDoor) -> RoutedContacts:
        return cls(uow_factory=front_door.uow_factory, clock=front_door.clock)

    async def list(self, *, actor: Principal, limit: int = 200) -> list[Notification]:
        return await routed_contacts(actor=actor, uow_factory=self.uow_factory, limit=limit)

    async def acknowledge(self, notification_id: str, *, actor: Principal) -> Acknowledged:
        return await acknowledge_notification(notification_id, actor=actor, uow_factory=self.uow_factory,
                                              clock=self.clock)
