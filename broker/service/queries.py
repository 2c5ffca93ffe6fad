"""The read side as use cases: every read passes the same authorization rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from broker.adapters.db.repository import StoredSummary
from broker.adapters.db.views import Views
from broker.domain.access import (
    NotVisible,
    Principal,
    authorize_list,
    authorize_read,
    authorize_summary,
)
from broker.domain.enquiry import Enquiry


async def read_enquiry(views: Views, principal: Principal, enquiry_id: str) -> Enquiry:
    enquiry = await views.enquiry(enquiry_id)
    if enquiry is None:
        raise NotVisible("no such enquiry")
    authorize_read(principal, enquiry.opened_by)
    return enquiry


async def read_summaries(views: Views, principal: Principal, enquiry_id: str) -> list[StoredSummary]:
    enquiry = await views.enquiry(enquiry_id)
    if enquiry is None:
        raise NotVisible("no such enquiry")
    authorize_summary(principal, enquiry.opened_by)
    return await views.summaries(enquiry_id)


async def list_enquiries(
    views: Views, principal: Principal, *, state: str | None, limit: int, before: dt.datetime | None
) -> list[dict[str, Any]]:
    opener = authorize_list(principal)
    return await views.enquiries(state=state, limit=limit, before=before, opened_by=opener)
