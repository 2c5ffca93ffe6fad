"""Repositories over one open transaction (an AsyncConnection inside `begin()`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.adapters.db import tables as t
from broker.adapters.db.crypto import RowCipher
from broker.adapters.db.mapping import (
    consent_from_json,
    consent_to_json,
    reply_from_json,
    reply_to_json,
    subject_from_json,
    subject_to_json,
    utc,
)
from broker.domain.brag import Brag
from broker.domain.consent import GateOutcome
from broker.domain.enquiry import Enquiry, EnquiryState, PartnerRequest, RequestStatus


def _written_state(r: PartnerRequest) -> tuple[Any, ...]:
    """What `save` writes of a request: if this is unchanged since `get`, so is its row."""
    return (r.status, r.reason, r.chased_at, r.late, r.reply)


# One UPDATE, built once, executed with the changed requests' values (executemany).
_UPDATE_REQUEST = (
    update(t.partner_requests)
    .where(t.partner_requests.c.request_id == bindparam("b_request_id"))
    .values(
        status=bindparam("status"),
        reason=bindparam("reason"),
        chased_at=bindparam("chased_at"),
        late=bindparam("late"),
        replied_at=bindparam("replied_at"),
        reply=bindparam("reply"),
        reply_jws=bindparam("reply_jws"),
        reply_brag=bindparam("reply_brag"),
    )
)
_UPDATED_COLUMNS = ("status", "reason", "chased_at", "late", "replied_at", "reply", "reply_jws", "reply_brag")


@dataclass(frozen=True, slots=True)
class _Loaded:
    row: dict[str, Any]  # the enquiry row's columns that `save` writes
    requests: dict[str, tuple[Any, ...]]  # request_id -> _written_state


_UNKNOWN = object()  # a column `get` did not read: always written


@dataclass(frozen=True, slots=True)
class RequestOwner:
    enquiry_id: str
    partner_id: str
    agreement_id: str | None  # None: the partner was not asked
    agreement_version: str | None


_REQUEST_COLUMNS = [c.label(f"r_{c.name}") for c in t.partner_requests.c]  # never clash with the enquiry's

_LOCK_ENQUIRY = (
    select(t.enquiries.c.enquiry_id)
    .where(t.enquiries.c.enquiry_id == bindparam("enquiry_id"))
    .with_for_update()
)
_SELECT_ENQUIRY_WITH_REQUESTS = (
    select(t.enquiries, *_REQUEST_COLUMNS)
    .outerjoin(t.partner_requests, t.partner_requests.c.enquiry_id == t.enquiries.c.enquiry_id)
    .where(t.enquiries.c.enquiry_id == bindparam("enquiry_id"))
    .order_by(t.partner_requests.c.partner_id)
)

_SELECT_REQUEST_OWNER = select(
    t.partner_requests.c.enquiry_id, t.partner_requests.c.partner_id,
    t.partner_requests.c.agreement_id, t.partner_requests.c.agreement_version,
).where(t.partner_requests.c.request_id == bindparam("request_id"))


class EnquiryRepository:
    def __init__(self, connection: AsyncConnection, cipher: RowCipher) -> None:
        self._c = connection
        self._cipher = cipher
        # What `get` read in this transaction, so `save` writes only what changed since.
        self._loaded: dict[str, _Loaded] = {}

    async def add(self, enquiry: Enquiry, *, idempotency_key: str | None = None,
                  wanted_categories: Sequence[str] | None = None,
                  chase_at: dt.datetime | None = None) -> None:
        await self._c.execute(
            insert(t.enquiries).values(
                enquiry_id=enquiry.enquiry_id,
                purpose=enquiry.purpose,
                brag=enquiry.brag.value,
                state=enquiry.state.value,
                opened_by=enquiry.opened_by,
                opened_at=enquiry.opened_at,
                deadline_at=enquiry.deadline_at,
                dispatched_at=enquiry.dispatched_at,
                closed_at=enquiry.closed_at,
                completion=enquiry.completion,
                refusal_reason=enquiry.refusal_reason,
                subjects=self._cipher.seal_json(
                    [subject_to_json(s) for s in enquiry.subjects],
                    context=f"enquiries.subjects:{enquiry.enquiry_id}",
                ),
                consent=self._cipher.seal_json(
                    consent_to_json(enquiry.consent), context=f"enquiries.consent:{enquiry.enquiry_id}"
                ),
                wanted_categories=list(wanted_categories) if wanted_categories else None,
                idempotency_key=idempotency_key,
                chase_at=chase_at,
            )
        )
        if enquiry.requests:
            await self._c.execute(
                insert(t.partner_requests),
                [
                    self._request_row(enquiry.enquiry_id, r) | {
                        "retain_until": (
                            enquiry.opened_at + dt.timedelta(days=r.retention_days)
                            if r.retention_days else None
                        )
                    }
                    for r in enquiry.requests
                ],
            )
        if enquiry.gate_outcomes:
            await self._c.execute(
                insert(t.gate_decisions),
                [
                    {
                        "enquiry_id": enquiry.enquiry_id,
                        "seq": seq,
                        "gate": g.gate,
                        "partner_id": g.partner_id,
                        "passed": g.passed,
                        "reason": g.reason,
                        "decided_at": enquiry.opened_at,
                    }
                    for seq, g in enumerate(enquiry.gate_outcomes)
                ],
            )

    def _request_row(self, enquiry_id: str, r: PartnerRequest) -> dict[str, Any]:
        return {
            "request_id": r.request_id,
            "enquiry_id": enquiry_id,
            "partner_id": r.partner_id,
            "partner_name": r.partner_name,
            "status": r.status.value,
            "categories": list(r.categories),
            "agreement_id": r.agreement_id,
            "agreement_version": r.agreement_version,
            "reason": r.reason,
            "late": r.late,
            "replied_at": r.reply.replied_at if r.reply else None,
            "reply_brag": r.reply.brag.value if r.reply and r.reply.brag else None,
            "chased_at": r.chased_at,
            "purged_at": r.purged_at,
            "retain_until": None,  # set by add(), from the enquiry's opening
            "reply": (
                self._cipher.seal_json(reply_to_json(r.reply), context=f"partner_requests.reply:{r.request_id}")
                if r.reply
                else None
            ),
            "reply_jws": self._cipher.seal_text(
                r.reply.signed_reply if r.reply else None,
                context=f"partner_requests.reply_jws:{r.request_id}",
            ),
        }

    async def get(self, enquiry_id: str, *, for_update: bool = False) -> Enquiry | None:
        if for_update:
            # Serialises concurrent replies for one enquiry on PostgreSQL (SQLite has one
            # writer at a time anyway). A statement of its own: under READ COMMITTED the
            # read below then takes its snapshot after the lock is ours, so it sees what
            # the transaction we waited for wrote. (Locking in the joined read would re-check
            # the enquiry row alone and return the requests as they were before the wait.)
            locked = await self._c.execute(_LOCK_ENQUIRY, {"enquiry_id": enquiry_id})
            if locked.first() is None:
                return None
        # The enquiry and its requests in one statement (a row per request; an enquiry
        # refused before any request was made has one row of NULL request columns).
        rows = (await self._c.execute(_SELECT_ENQUIRY_WITH_REQUESTS, {"enquiry_id": enquiry_id})).mappings().all()
        if not rows:
            return None
        row = rows[0]
        requests = [
            {name.removeprefix("r_"): value for name, value in r.items() if name.startswith("r_")}
            for r in rows if r["r_request_id"] is not None
        ]
        gates = (
            await self._c.execute(
                select(t.gate_decisions)
                .where(t.gate_decisions.c.enquiry_id == enquiry_id)
                .order_by(t.gate_decisions.c.seq)
            )
        ).mappings().all()
        enquiry = Enquiry(
            enquiry_id=row["enquiry_id"],
            purpose=row["purpose"],
            brag=Brag(row["brag"]),
            subjects=tuple(
                subject_from_json(s)
                for s in self._cipher.open_json(row["subjects"], context=f"enquiries.subjects:{enquiry_id}")
            ),
            consent=consent_from_json(
                self._cipher.open_json(row["consent"], context=f"enquiries.consent:{enquiry_id}")
            ),
            opened_by=row["opened_by"],
            opened_at=utc(row["opened_at"]),  # type: ignore[arg-type]
            deadline_at=utc(row["deadline_at"]),  # type: ignore[arg-type]
            state=EnquiryState(row["state"]),
            requests=[
                PartnerRequest(
                    request_id=r["request_id"],
                    partner_id=r["partner_id"],
                    partner_name=r["partner_name"],
                    status=RequestStatus(r["status"]),
                    categories=tuple(r["categories"]),
                    agreement_id=r["agreement_id"],
                    agreement_version=r["agreement_version"],
                    reason=r["reason"],
                    late=bool(r["late"]),
                    chased_at=utc(r["chased_at"]),
                    purged_at=utc(r["purged_at"]),
                    retention_days=(
                        (utc(r["retain_until"]) - utc(row["opened_at"])).days  # type: ignore[operator]
                        if r["retain_until"] else None
                    ),
                    reply=(
                        reply_from_json(
                            self._cipher.open_json(
                                r["reply"], context=f"partner_requests.reply:{r['request_id']}"
                            ),
                            request_id=r["request_id"],
                            enquiry_id=enquiry_id,
                            partner_id=r["partner_id"],
                            jws=str(self._cipher.open_text(
                                r["reply_jws"], context=f"partner_requests.reply_jws:{r['request_id']}"
                            )),
                        )
                        if r["reply"]
                        else None
                    ),
                )
                for r in requests
            ],
            gate_outcomes=[
                GateOutcome(g["gate"], bool(g["passed"]), g["reason"], g["partner_id"]) for g in gates
            ],
            refusal_reason=row["refusal_reason"],
            dispatched_at=utc(row["dispatched_at"]),
            closed_at=utc(row["closed_at"]),
            completion=row["completion"],
        )
        self._loaded[enquiry_id] = _Loaded(
            row={"state": row["state"], "closed_at": utc(row["closed_at"]),
                 "completion": row["completion"], "chase_at": utc(row["chase_at"])},
            requests={r.request_id: _written_state(r) for r in enquiry.requests},
        )
        return enquiry

    async def save(self, enquiry: Enquiry) -> None:
        """Write back what can change after opening: state, closure and each request."""
        values: dict[str, Any] = {
            "state": enquiry.state.value,
            "closed_at": enquiry.closed_at,
            "completion": enquiry.completion,
        }
        if enquiry.state is not EnquiryState.DISPATCHED or not any(
            r.status is RequestStatus.PENDING and r.chased_at is None for r in enquiry.requests
        ):
            values["chase_at"] = None  # nobody left to chase
        loaded = self._loaded.get(enquiry.enquiry_id) or _Loaded(row={}, requests={})
        # Most replies leave the enquiry row as it was: only the last one closes it.
        if any(loaded.row.get(k, _UNKNOWN) != v for k, v in values.items()):
            await self._c.execute(
                update(t.enquiries).where(t.enquiries.c.enquiry_id == enquiry.enquiry_id).values(**values)
            )
        # Only the requests that changed since `get` read them (a reply changes one): each
        # row written re-seals its reply, so rewriting them all cost P x (P + N) UPDATEs.
        changed = [r for r in enquiry.requests if loaded.requests.get(r.request_id) != _written_state(r)]
        if changed:
            rows = []
            for request in changed:
                row = self._request_row(enquiry.enquiry_id, request)
                rows.append({"b_request_id": request.request_id, **{k: row[k] for k in _UPDATED_COLUMNS}})
            await self._c.execute(_UPDATE_REQUEST, rows)
        self._loaded[enquiry.enquiry_id] = _Loaded(
            row={**loaded.row, **values},
            requests={r.request_id: _written_state(r) for r in enquiry.requests},
        )

    async def by_idempotency_key(self, key: str) -> str | None:
        return (
            await self._c.execute(
                select(t.enquiries.c.enquiry_id).where(t.enquiries.c.idempotency_key == key)
            )
        ).scalar_one_or_none()

    async def request_owner(self, request_id: str) -> RequestOwner | None:
        """Whose request this is and under which agreement it went, or None when we never
        sent it. Read without locking: none of it changes after the request is created."""
        row = (await self._c.execute(_SELECT_REQUEST_OWNER, {"request_id": request_id})).first()
        return RequestOwner(*row) if row else None

    async def retention_due(self, now: dt.datetime, limit: int) -> dict[str, list[str]]:
        """Replied requests whose agreement's retention has ended: {enquiry_id: [request_id]}."""
        pr = t.partner_requests
        rows = await self._c.execute(
            select(pr.c.enquiry_id, pr.c.request_id)
            .where(pr.c.retain_until <= now)
            .where(pr.c.purged_at.is_(None))
            .where(pr.c.reply.is_not(None))
            .order_by(pr.c.retain_until)
            .limit(limit)
        )
        due: dict[str, list[str]] = {}
        for enquiry_id, request_id in rows:
            due.setdefault(enquiry_id, []).append(request_id)
        return due

    async def purge_replies(self, request_ids: Sequence[str], now: dt.datetime) -> None:
        """Remove what partners shared (findings and their signed replies); keep the outcome row."""
        await self._c.execute(
            update(t.partner_requests)
            .where(t.partner_requests.c.request_id.in_(request_ids))
            .values(reply=None, reply_jws=None, purged_at=now)
        )
        # The request bodies carried the subjects to the partner; they have done their job.
        await self._c.execute(
            update(t.outbox)
            .where(t.outbox.c.correlation_id.in_(request_ids))
            .where(t.outbox.c.published_at.is_not(None))
            .values(body=b"")
        )

    async def due_for_chase(self, now: dt.datetime, limit: int) -> list[str]:
        return await self._dispatched_due(t.enquiries.c.chase_at, now, limit)

    async def overdue(self, now: dt.datetime, limit: int) -> list[str]:
        return await self._dispatched_due(t.enquiries.c.deadline_at, now, limit)

    async def _dispatched_due(self, when: Any, now: dt.datetime, limit: int) -> list[str]:
        """Dispatched enquiries whose `when` time has come, earliest first."""
        rows = await self._c.execute(
            select(t.enquiries.c.enquiry_id)
            .where(t.enquiries.c.state == EnquiryState.DISPATCHED.value)
            .where(when <= now)
            .order_by(when)
            .limit(limit)
        )
        return [r[0] for r in rows]


@dataclass(frozen=True, slots=True)
class StoredSummary:
    summary_id: str
    enquiry_id: str
    version: int
    supersedes: str | None
    issued_at: dt.datetime
    jws: str
    jws_sha256: str | None = None
    purged_at: dt.datetime | None = None


class SummaryRepository:
    def __init__(self, connection: AsyncConnection, cipher: RowCipher) -> None:
        self._c = connection
        self._cipher = cipher

    async def add(self, summary: StoredSummary) -> None:
        await self._c.execute(
            insert(t.summaries).values(
                summary_id=summary.summary_id,
                enquiry_id=summary.enquiry_id,
                version=summary.version,
                supersedes=summary.supersedes,
                issued_at=summary.issued_at,
                jws=self._cipher.seal_text(summary.jws, context=f"summaries.jws:{summary.summary_id}"),
                jws_sha256=hashlib.sha256(summary.jws.encode()).hexdigest(),
            )
        )

    async def history(self, enquiry_id: str, *, latest_only: bool = False) -> list[StoredSummary]:
        query = select(t.summaries).where(t.summaries.c.enquiry_id == enquiry_id)
        if latest_only:  # the newest version alone: opening every older one is wasted work
            query = query.order_by(t.summaries.c.version.desc()).limit(1)
        else:
            query = query.order_by(t.summaries.c.version)
        rows = (await self._c.execute(query)).mappings().all()
        return [
            StoredSummary(
                summary_id=r["summary_id"],
                enquiry_id=r["enquiry_id"],
                version=r["version"],
                supersedes=r["supersedes"],
                issued_at=utc(r["issued_at"]),  # type: ignore[arg-type]
                jws=str(self._cipher.open_text(r["jws"], context=f"summaries.jws:{r['summary_id']}"))
                if r["jws"] is not None else "",
                jws_sha256=r["jws_sha256"],
                purged_at=utc(r["purged_at"]),
            )
            for r in rows
        ]

    async def purge(self, enquiry_id: str, now: dt.datetime) -> list[tuple[str, str | None]]:
        """Remove every summary version's content (it embeds the findings); keep the id,
        version, time and hash as a tombstone. Returns (summary_id, sha256) of each."""
        s = t.summaries
        rows = (await self._c.execute(
            select(s.c.summary_id, s.c.jws_sha256).where(s.c.enquiry_id == enquiry_id).where(s.c.purged_at.is_(None))
        )).all()
        await self._c.execute(
            update(s).where(s.c.enquiry_id == enquiry_id).where(s.c.purged_at.is_(None)).values(jws=None, purged_at=now)
        )
        return [(r[0], r[1]) for r in rows]

    async def latest(self, enquiry_id: str) -> StoredSummary | None:
        history = await self.history(enquiry_id, latest_only=True)
        return history[-1] if history else None


class RejectionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, **values: Any) -> None:
        await self._c.execute(insert(t.rejected_messages).values(**values))

    async def recorded(self, message_id: str) -> bool:
        return (
            await self._c.execute(
                select(t.rejected_messages.c.id).where(t.rejected_messages.c.message_id == message_id).limit(1)
            )
        ).first() is not None

    async def count(self) -> int:
        return int((await self._c.execute(select(func.count()).select_from(t.rejected_messages))).scalar_one())
