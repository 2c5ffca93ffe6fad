"""HTTP: the allocated social worker acknowledges a contact routed to them.

POST /notifications/{id}/acknowledge — only the recipient (403 for other roles, 404 "no such
notification" for a worker asking about someone else's); idempotent (200 both times).
Installed by `install_notification_routes(app)` (app.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import FastAPI, Path
from fastapi.routing import APIRouter
from pydantic import BaseModel

from broker.entrypoints.api.deps import BrokerDep, PrincipalDep
from broker.entrypoints.api.routes import ERRORS
from broker.entrypoints.api.schemas import Problem
from broker.service.routed_contacts import RoutedContacts

router = APIRouter(tags=["front door"])

NotificationId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


class AcknowledgedRead(BaseModel):
    notification_id: str
    contact_id: str
    recipient: str
    delivered_at: dt.datetime | None
    acknowledged_at: dt.datetime
    acknowledged_by: str
    replayed: bool


RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS, 404: {"model": Problem, "description": "No such notification (or not yours)"},
}


@router.post("/notifications/{notification_id}/acknowledge", response_model=AcknowledgedRead,
             responses=RESPONSES, summary="Acknowledge a contact routed to you (allocated social worker)")
async def acknowledge(notification_id: NotificationId, broker: BrokerDep,
                      principal: PrincipalDep) -> AcknowledgedRead:
    """The recipient acknowledges the routed contact; it counts as delivered too. Acknowledging
    again answers the first acknowledgement (`replayed: true`)."""
    done = await RoutedContacts.of(broker.front_door).acknowledge(notification_id, actor=principal)
    n = done.notification
    assert n.acknowledged_at is not None and n.acknowledged_by is not None
    return AcknowledgedRead(notification_id=n.notification_id, contact_id=n.contact_id, recipient=n.recipient,
                            delivered_at=n.delivered_at, acknowledged_at=n.acknowledged_at,
                            acknowledged_by=n.acknowledged_by, replayed=done.replayed)


def install_notification_routes(app: FastAPI) -> None:
    app.include_router(router)
