"""The read side as use cases: every read passes the same authorization rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from broker.adapters.db.repository import StoredSummary
from broker.adapters.db.views import EnquiryPage, Views
from broker.domain.access import (
    NotVisible,
    Principal,
    authorize_audit,
    authorize_list,
    authorize_read,
    authorize_summary,
)
from broker.domain.audit import AuditEntry
from broker.domain.enquiry import Enquiry
from broker.service import audit_trail

Record = Callable[[AuditEntry], Awaitable[None]]


async def read_enquiry(views: Views, principal: Principal, enquiry_id: str) -> Enquiry:
    enquiry = await views.enquiry(enquiry_id)
    if enquiry is None:
        raise NotVisible("no such enquiry", actor=principal.subject, action="read_enquiry")
    authorize_read(principal, enquiry.opened_by, enquiry_id)
    return enquiry


async def read_enquiry_page(views: Views, principal: Principal, enquiry_id: str) -> EnquiryPage:
    page = await views.enquiry_page(enquiry_id)
    if page is None:
        raise NotVisible("no such enquiry", actor=principal.subject, action="read_enquiry")
    authorize_read(principal, page.enquiry.opened_by, enquiry_id)
    return page


async def read_summaries(
    views: Views, principal: Principal, enquiry_id: str, *, record: Record, now: dt.datetime
) -> list[StoredSummary]:
    """The summary versions, and an audit entry that this principal read them."""
    found = await views.opener_and_summaries(enquiry_id)
    if found is None:
        raise NotVisible("no such enquiry", actor=principal.subject, action="read_summary")
    opened_by, history = found
    authorize_summary(principal, opened_by, enquiry_id)
    if history:
        await record(audit_trail.summary_read(enquiry_id, principal.subject, now))
    return history


async def read_audit(
    views: Views, principal: Principal, *, after: int, limit: int
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    authorize_audit(principal)
    return await views.audit_events(after=after, limit=limit), await views.audit_checkpoint()


async def list_enquiries(
    views: Views, principal: Principal, *, state: str | None, limit: int, before: dt.datetime | None
) -> list[dict[str, Any]]:
    opener = authorize_list(principal)
    return await views.enquiries(state=state, limit=limit, before=before, opened_by=opener)
