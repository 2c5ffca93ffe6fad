""""Routed to me": the contacts the front door routed straight to an allocated social worker
(issue 6 part 1), with an Acknowledge button; MASH managers and auditors see every routed
contact with its status, unacknowledged ones older than the configured time flagged.

Authorization stays in the service layer (broker/service/routed_contacts.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broker.domain.access import SOCIAL_WORKER
from broker.entrypoints.web.core import UiPrincipal, UiRoute, broker_of, read_form, render
from broker.service.routed_contacts import RoutedContacts

router = APIRouter(route_class=UiRoute)

NotificationId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]


@router.get("/ui/notifications", response_class=HTMLResponse, include_in_schema=False)
async def routed_page(request: Request, principal: UiPrincipal) -> Response:
    broker = broker_of(request)
    notes = await RoutedContacts.of(broker.front_door).list(actor=principal)
    now = broker.clock.now()
    alert_after = dt.timedelta(minutes=broker.settings.front_door.ack_alert_after_minutes)
    worker = principal.has(SOCIAL_WORKER)
    return render(request, "notifications.html", {
        "notes": notes, "worker": worker,
        "late": {n.notification_id for n in notes if n.acknowledged_at is None and now - n.created_at > alert_after},
        "alert_after": alert_after, "acknowledged": request.query_params.get("acknowledged"),
    }, principal)


@router.post("/ui/notifications/{notification_id}/acknowledge", include_in_schema=False)
async def acknowledge(notification_id: NotificationId, request: Request, principal: UiPrincipal) -> Response:
    await read_form(request)
    await RoutedContacts.of(broker_of(request).front_door).acknowledge(notification_id, actor=principal)
    return RedirectResponse(f"/ui/notifications?acknowledged={notification_id}", status_code=303)
