"""Read-only queries for the timeliness and thresholds report.

Only ids, states, times, ratings and outcomes are read: no sealed column is selected,
so nothing is decrypted and no personal data leaves the database for a report.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.adapters.db import front_door_tables as fd
from broker.adapters.db import tables as t
from broker.adapters.db.mapping import utc
from broker.domain.brag import Brag
from broker.domain.timeliness import (
    ContactRecord,
    DecisionRecord,
    EnquiryRecord,
    PartnerRequestRecord,
    TimelinessData,
)


def _brag(value: str | None) -> Brag | None:
    try:
        return Brag(value) if value else None
    except ValueError:
        return None


def _at(value: dt.datetime | None) -> dt.datetime | None:
    return utc(value) if value is not None else None


def _when(value: dt.datetime) -> dt.datetime:
    moment = utc(value)
    assert moment is not None  # a NOT NULL column
    return moment


class TimelinessQueries:
    """Loads the records a report for a period needs (a superset: the domain applies the period)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self, *, until: dt.datetime | None) -> TimelinessData:
        """Every record that began before `until` (all when None): anything in a period
        ending at `until`, and the cases its decisions refer to."""
        e, pr, c, d = t.enquiries, t.partner_requests, fd.contacts, fd.decisions
        enquiries_q = select(
            e.c.enquiry_id, e.c.state, e.c.brag, e.c.opened_at, e.c.deadline_at, e.c.closed_at,
            c.c.contact_id,
        ).select_from(e.outerjoin(c, c.c.enquiry_id == e.c.enquiry_id))
        requests_q = select(
            pr.c.request_id, pr.c.enquiry_id, pr.c.partner_id, pr.c.status, pr.c.reply_brag, pr.c.replied_at,
        ).select_from(pr.join(e, e.c.enquiry_id == pr.c.enquiry_id))
        contacts_q = select(c.c.contact_id, c.c.received_at, c.c.brag, c.c.due_at, c.c.enquiry_id)
        decisions_q = select(d.c.decision_id, d.c.outcome, d.c.decided_at, d.c.contact_id, d.c.enquiry_id)
        if until is not None:
            enquiries_q = enquiries_q.where(e.c.opened_at < until)
            requests_q = requests_q.where(e.c.opened_at < until)
            contacts_q = contacts_q.where(c.c.received_at < until)
            decisions_q = decisions_q.where(d.c.decided_at < until)
        async with self._engine.connect() as conn:
            enquiry_rows = (await conn.execute(enquiries_q)).mappings().all()
            request_rows = (await conn.execute(requests_q)).mappings().all()
            contact_rows = (await conn.execute(contacts_q)).mappings().all()
            decision_rows = (await conn.execute(decisions_q)).mappings().all()
        enquiries = []
        for row in enquiry_rows:
            brag = _brag(row["brag"])
            if brag is None:
                continue
            enquiries.append(EnquiryRecord(
                enquiry_id=row["enquiry_id"], state=row["state"], brag=brag,
                opened_at=_when(row["opened_at"]), deadline_at=_when(row["deadline_at"]),
                closed_at=_at(row["closed_at"]), contact_id=row["contact_id"],
            ))
        known = {r.enquiry_id for r in enquiries}
        return TimelinessData(
            enquiries=enquiries,
            requests=[
                PartnerRequestRecord(
                    request_id=row["request_id"], enquiry_id=row["enquiry_id"], partner_id=row["partner_id"],
                    status=row["status"], brag=_brag(row["reply_brag"]), replied_at=_at(row["replied_at"]),
                )
                for row in request_rows if row["enquiry_id"] in known
            ],
            contacts=[
                ContactRecord(
                    contact_id=row["contact_id"], received_at=_when(row["received_at"]), brag=_brag(row["brag"]),
                    due_at=_at(row["due_at"]), enquiry_id=row["enquiry_id"],
                )
                for row in contact_rows
            ],
            decisions=[
                DecisionRecord(
                    decision_id=row["decision_id"], outcome=row["outcome"], decided_at=_when(row["decided_at"]),
                    contact_id=row["contact_id"], enquiry_id=row["enquiry_id"],
                )
                for row in decision_rows
            ],
        )
