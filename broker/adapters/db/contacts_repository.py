"""Repositories for the front door over one open transaction, like repository.py.

Every personal value is sealed with the RowCipher, bound to its table, column and row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.adapters.db import front_door_tables as f
from broker.adapters.db.crypto import RowCipher
from broker.adapters.db.mapping import (
    consent_from_json,
    consent_to_json,
    subject_from_json,
    subject_to_json,
    utc,
)
from broker.domain.brag import Brag
from broker.domain.contact import (
    FINISHED,
    AllocatedWorker,
    ConsentCheck,
    Contact,
    ContactState,
    Referrer,
)
from broker.domain.contact_retention import ContactPurged
from broker.domain.decision import Decision, Outcome, ReferrerFeedback
from broker.domain.screening import BragProposal, Rerating, Sanction, SignsOfSafety
from broker.domain.timescales import Due


def _sos_to_json(sos: SignsOfSafety | None) -> dict[str, Any] | None:
    return asdict(sos) if sos is not None else None


def _sos_from_json(data: dict[str, Any] | None) -> SignsOfSafety | None:
    return SignsOfSafety(**data) if data else None


def _brag(value: str | None) -> Brag | None:
    return Brag(value) if value else None


class ContactRepository:
    def __init__(self, connection: AsyncConnection, cipher: RowCipher) -> None:
        self._c = connection
        self._cipher = cipher

    # --- sealing -----------------------------------------------------------------------------

    def _seal(self, column: str, contact_id: str, data: Any) -> str | None:
        if data is None:
            return None
        return self._cipher.seal_json(data, context=f"contacts.{column}:{contact_id}")

    def _open(self, column: str, contact_id: str, value: str | None) -> Any:
        return self._cipher.open_json(value, context=f"contacts.{column}:{contact_id}")

    def _row(self, contact: Contact) -> dict[str, Any]:
        cid = contact.contact_id
        worker = contact.allocated_worker
        proposal, sanction = contact.proposal, contact.sanction
        return {
            "authority": contact.authority,
            "state": contact.state.value,
            "received_at": contact.received_at,
            "recorded_at": contact.recorded_at,
            "recorded_by": contact.recorded_by,
            "referrer": self._seal("referrer", cid, asdict(contact.referrer)),
            "reason": self._seal("reason", cid, contact.reason),
            "subjects": self._seal("subjects", cid, [subject_to_json(s) for s in contact.subjects]),
            "consent": self._seal("consent", cid, consent_to_json(contact.consent)),
            "brag": contact.brag.value if contact.brag else None,
            "due_at": contact.due.at if contact.due else None,
            "due_basis": contact.due.basis if contact.due else None,
            "due_outside_hours": contact.due.outside_working_hours if contact.due else None,
            "allocated_worker_id": worker.worker_id if worker else None,
            "allocated_worker": self._seal("allocated_worker", cid, asdict(worker) if worker else None),
            "proposed_brag": proposal.brag.value if proposal else None,
            "proposed_by": proposal.proposed_by if proposal else None,
            "proposed_at": proposal.proposed_at if proposal else None,
            "proposal_rationale": self._seal("proposal_rationale", cid,
                                             _sos_to_json(proposal.rationale) if proposal else None),
            "sanctioned_brag": sanction.brag.value if sanction else None,
            "sanctioned_by": sanction.sanctioned_by if sanction else None,
            "sanctioned_at": sanction.sanctioned_at if sanction else None,
            "sanction_as_proposed": sanction.as_proposed if sanction else None,
            "sanction_rationale": self._seal("sanction_rationale", cid,
                                             _sos_to_json(sanction.rationale) if sanction else None),
            "sanction_reason": self._seal("sanction_reason", cid, sanction.reason if sanction else None),
            "universal_advice": self._seal("universal_advice", cid, contact.universal_advice),
            "closed_at": contact.closed_at,
            "closed_by": contact.closed_by,
            "enquiry_id": contact.enquiry_id,
            "enquiry_opened_at": contact.enquiry_opened_at,
            "decision_id": contact.decision_id,
            "decided_at": contact.decided_at,
        }

    # --- writes ------------------------------------------------------------------------------

    async def add(self, contact: Contact, *, idempotency_key: str | None = None) -> None:
        await self._c.execute(
            insert(f.contacts).values(contact_id=contact.contact_id, idempotency_key=idempotency_key,
                                      **self._row(contact))
        )
        await self._write_history(contact, stored_reratings=0, stored_checks=0)

    async def save(self, contact: Contact) -> None:
        """Write back the contact; new re-ratings and consent checks are appended (history is
        never rewritten)."""
        await self._c.execute(
            update(f.contacts).where(f.contacts.c.contact_id == contact.contact_id).values(**self._row(contact))
        )
        stored_reratings = await self._count(f.contact_reratings, contact.contact_id)
        stored_checks = await self._count(f.contact_consent_checks, contact.contact_id)
        await self._write_history(contact, stored_reratings=stored_reratings, stored_checks=stored_checks)

    async def _count(self, table: Any, contact_id: str) -> int:
        query = select(func.count()).select_from(table).where(table.c.contact_id == contact_id)
        return int((await self._c.execute(query)).scalar_one())

    async def _write_history(self, contact: Contact, *, stored_reratings: int, stored_checks: int) -> None:
        cid = contact.contact_id
        new_ratings = contact.reratings[stored_reratings:]
        if new_ratings:
            await self._c.execute(insert(f.contact_reratings), [
                {
                    "contact_id": cid, "seq": seq, "from_brag": r.from_brag.value, "to_brag": r.to_brag.value,
                    "reason": self._cipher.seal_text(r.reason, context=f"contact_reratings.reason:{cid}:{seq}"),
                    "rerated_by": r.by, "rerated_at": r.at,
                    "due_at_after": contact.due.at if contact.due and seq == len(contact.reratings) - 1 else None,
                }
                for seq, r in enumerate(new_ratings, start=stored_reratings)
            ])
        new_checks = contact.consent_checks[stored_checks:]
        if new_checks:
            await self._c.execute(insert(f.contact_consent_checks), [
                {
                    "contact_id": cid, "seq": seq, "checked_at": c.at, "checked_by": c.by, "passed": c.passed,
                    "status": c.consent.status.value if c.consent else None,
                    "reason": self._cipher.seal_text(c.reason, context=f"contact_consent_checks.reason:{cid}:{seq}"),
                    "consent": (
                        self._cipher.seal_json(consent_to_json(c.consent),
                                               context=f"contact_consent_checks.consent:{cid}:{seq}")
                        if c.consent else None
                    ),
                    "enquiry_id": c.enquiry_id,
                }
                for seq, c in enumerate(new_checks, start=stored_checks)
            ])

    # --- reads -------------------------------------------------------------------------------

    async def get(self, contact_id: str, *, for_update: bool = False) -> Contact | None:
        query = select(f.contacts).where(f.contacts.c.contact_id == contact_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._c.execute(query)).mappings().first()
        if row is None:
            return None
        return await self._contact(row)

    async def by_idempotency_key(self, key: str) -> str | None:
        query = select(f.contacts.c.contact_id).where(f.contacts.c.idempotency_key == key)
        return (await self._c.execute(query)).scalar_one_or_none()

    async def by_enquiry(self, enquiry_id: str) -> str | None:
        """The contact an enquiry was opened from, if any."""
        query = select(f.contacts.c.contact_id).where(f.contacts.c.enquiry_id == enquiry_id)
        return (await self._c.execute(query)).scalar_one_or_none()

    async def _contact(self, row: Any) -> Contact:
        cid = row["contact_id"]
        if row["purged_at"] is not None:  # its personal data is gone (retention ended): 410
            decision_sha256 = (await self._c.execute(
                select(f.decisions.c.jws_sha256).where(f.decisions.c.contact_id == cid))).scalar_one_or_none()
            raise ContactPurged(cid, utc(row["purged_at"]), allocated_worker_id=row["allocated_worker_id"],  # type: ignore[arg-type]
                                decision_sha256=decision_sha256)
        reratings = (await self._c.execute(
            select(f.contact_reratings).where(f.contact_reratings.c.contact_id == cid)
            .order_by(f.contact_reratings.c.seq)
        )).mappings().all()
        checks = (await self._c.execute(
            select(f.contact_consent_checks).where(f.contact_consent_checks.c.contact_id == cid)
            .order_by(f.contact_consent_checks.c.seq)
        )).mappings().all()
        worker = self._open("allocated_worker", cid, row["allocated_worker"])
        proposal = None
        if row["proposed_brag"]:
            proposal = BragProposal(
                brag=Brag(row["proposed_brag"]),
                rationale=_sos_from_json(self._open("proposal_rationale", cid, row["proposal_rationale"])),  # type: ignore[arg-type]
                proposed_by=row["proposed_by"], proposed_at=utc(row["proposed_at"]),  # type: ignore[arg-type]
            )
        sanction = None
        if row["sanctioned_brag"]:
            sanction = Sanction(
                brag=Brag(row["sanctioned_brag"]), sanctioned_by=row["sanctioned_by"],
                sanctioned_at=utc(row["sanctioned_at"]),  # type: ignore[arg-type]
                as_proposed=bool(row["sanction_as_proposed"]),
                rationale=_sos_from_json(self._open("sanction_rationale", cid, row["sanction_rationale"])),
                reason=self._open("sanction_reason", cid, row["sanction_reason"]),
            )
        return Contact(
            contact_id=cid,
            authority=row["authority"],
            received_at=utc(row["received_at"]),  # type: ignore[arg-type]
            recorded_at=utc(row["recorded_at"]),  # type: ignore[arg-type]
            recorded_by=row["recorded_by"],
            referrer=Referrer(**self._open("referrer", cid, row["referrer"])),
            reason=self._open("reason", cid, row["reason"]),
            subjects=tuple(subject_from_json(s) for s in self._open("subjects", cid, row["subjects"])),
            consent=consent_from_json(self._open("consent", cid, row["consent"])),
            state=ContactState(row["state"]),
            allocated_worker=AllocatedWorker(**worker) if worker else None,
            proposal=proposal,
            sanction=sanction,
            reratings=[
                Rerating(
                    from_brag=Brag(r["from_brag"]), to_brag=Brag(r["to_brag"]),
                    reason=str(self._cipher.open_text(r["reason"], context=f"contact_reratings.reason:{cid}:{r['seq']}")),
                    by=r["rerated_by"], at=utc(r["rerated_at"]),  # type: ignore[arg-type]
                )
                for r in reratings
            ],
            brag=_brag(row["brag"]),
            due=(
                Due(at=utc(row["due_at"]), basis=row["due_basis"],  # type: ignore[arg-type]
                    outside_working_hours=bool(row["due_outside_hours"]))
                if row["due_at"] else None
            ),
            universal_advice=self._open("universal_advice", cid, row["universal_advice"]),
            closed_at=utc(row["closed_at"]),
            closed_by=row["closed_by"],
            enquiry_id=row["enquiry_id"],
            enquiry_opened_at=utc(row["enquiry_opened_at"]),
            consent_checks=[
                ConsentCheck(
                    at=utc(c["checked_at"]), by=c["checked_by"], passed=bool(c["passed"]),  # type: ignore[arg-type]
                    reason=str(self._cipher.open_text(
                        c["reason"], context=f"contact_consent_checks.reason:{cid}:{c['seq']}")),
                    consent=consent_from_json(self._cipher.open_json(
                        c["consent"], context=f"contact_consent_checks.consent:{cid}:{c['seq']}")),
                    enquiry_id=c["enquiry_id"],
                )
                for c in checks
            ],
            decision_id=row["decision_id"],
            decided_at=utc(row["decided_at"]),
        )

    async def list(
        self, *, state: str | None = None, brag: str | None = None, overdue_at: dt.datetime | None = None,
        limit: int = 50, before: dt.datetime | None = None, with_child: bool = False,
    ) -> list[ContactRow]:
        """The front-door queue, newest received first.

        `overdue_at`: only contacts still open at the front door whose due time is before it.
        `with_child`: open the sealed subjects to name the child (for MASH staff's queue);
        otherwise nothing sealed is opened.
        """
        c = f.contacts
        query = select(
            c.c.contact_id, c.c.state, c.c.brag, c.c.proposed_brag, c.c.received_at, c.c.recorded_by,
            c.c.due_at, c.c.due_basis, c.c.enquiry_id, c.c.allocated_worker_id, c.c.decided_at,
            c.c.closed_at, c.c.authority, c.c.purged_at, *([c.c.subjects] if with_child else []),
        ).order_by(c.c.received_at.desc(), c.c.contact_id.desc()).limit(limit)
        if state:
            query = query.where(c.c.state == state)
        if brag:
            query = query.where(c.c.brag == brag)
        if before:
            query = query.where(c.c.received_at < before)
        if overdue_at is not None:
            query = query.where(and_(
                c.c.due_at.is_not(None), c.c.due_at < overdue_at,
                c.c.state.not_in([s.value for s in FINISHED]),
            ))
        rows = (await self._c.execute(query)).mappings().all()
        return [
            ContactRow(
                contact_id=r["contact_id"], state=r["state"], brag=r["brag"], proposed_brag=r["proposed_brag"],
                received_at=utc(r["received_at"]), recorded_by=r["recorded_by"],  # type: ignore[arg-type]
                due_at=utc(r["due_at"]), due_basis=r["due_basis"], enquiry_id=r["enquiry_id"],
                allocated_worker_id=r["allocated_worker_id"], decided_at=utc(r["decided_at"]),
                closed_at=utc(r["closed_at"]), authority=r["authority"],
                child=self._child(r["contact_id"], r["subjects"]) if with_child else None,
                purged_at=utc(r["purged_at"]),
            )
            for r in rows
        ]

    def _child(self, contact_id: str, sealed: str | None) -> dict[str, str | None] | None:
        if sealed is None:
            return None  # purged at the end of its retention period
        child = next(s for s in self._open("subjects", contact_id, sealed) if s["role"] == "child")
        return {"given_name": child["given_name"], "family_name": child["family_name"],
                "date_of_birth": child.get("date_of_birth")}


@dataclass(frozen=True, slots=True)
class ContactRow:
    """One line of the front-door queue (personal data only the child's name, when asked for)."""

    contact_id: str
    state: str
    brag: str | None
    proposed_brag: str | None
    received_at: dt.datetime
    recorded_by: str
    due_at: dt.datetime | None
    due_basis: str | None
    enquiry_id: str | None
    allocated_worker_id: str | None
    decided_at: dt.datetime | None
    closed_at: dt.datetime | None
    authority: str
    child: dict[str, str | None] | None = None  # given_name, family_name, date_of_birth (when asked for)
    purged_at: dt.datetime | None = None  # personal data purged (retention ended): no child shown

    def overdue(self, now: dt.datetime) -> bool:
        return (
            self.state not in {s.value for s in FINISHED}
            and self.due_at is not None and now > self.due_at
        )


@dataclass(frozen=True, slots=True)
class StoredDecision:
    decision: Decision
    jws: str
    jws_sha256: str
    kid: str


class DecisionRepository:
    def __init__(self, connection: AsyncConnection, cipher: RowCipher) -> None:
        self._c = connection
        self._cipher = cipher

    async def add(self, decision: Decision, *, jws: str, kid: str) -> None:
        did = decision.decision_id
        await self._c.execute(insert(f.decisions).values(
            decision_id=did, contact_id=decision.contact_id, enquiry_id=decision.enquiry_id,
            summary_id=decision.summary_id, summary_sha256=decision.summary_sha256,
            brag=decision.brag.value if decision.brag else None, outcome=decision.outcome.value,
            decided_by=decision.decided_by, decided_at=decision.decided_at,
            rationale=self._cipher.seal_text(decision.rationale, context=f"decisions.rationale:{did}"),
            jws=self._cipher.seal_text(jws, context=f"decisions.jws:{did}"),
            jws_sha256=hashlib.sha256(jws.encode()).hexdigest(), kid=kid,
        ))

    async def for_contact(self, contact_id: str) -> StoredDecision | None:
        row = (await self._c.execute(
            select(f.decisions).where(f.decisions.c.contact_id == contact_id)
        )).mappings().first()
        if row is None:
            return None
        did = row["decision_id"]
        if row["purged_at"] is not None:
            contact_purged_at = (await self._c.execute(
                select(f.contacts.c.purged_at).where(f.contacts.c.contact_id == contact_id))).scalar_one_or_none()
            raise ContactPurged(contact_id, utc(contact_purged_at or row["purged_at"]),  # type: ignore[arg-type]
                                decision_sha256=row["jws_sha256"])
        decision = Decision(
            decision_id=did, contact_id=row["contact_id"], outcome=Outcome(row["outcome"]),
            rationale=str(self._cipher.open_text(row["rationale"], context=f"decisions.rationale:{did}")),
            decided_by=row["decided_by"], decided_at=utc(row["decided_at"]),  # type: ignore[arg-type]
            brag=_brag(row["brag"]), enquiry_id=row["enquiry_id"], summary_id=row["summary_id"],
            summary_sha256=row["summary_sha256"],
        )
        jws = str(self._cipher.open_text(row["jws"], context=f"decisions.jws:{did}"))
        return StoredDecision(decision=decision, jws=jws, jws_sha256=row["jws_sha256"], kid=row["kid"])


class FeedbackRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    async def add(self, feedback: ReferrerFeedback) -> None:
        await self._c.execute(insert(f.referrer_feedback).values(
            feedback_id=feedback.feedback_id, contact_id=feedback.contact_id, decision_id=feedback.decision_id,
            outcome=feedback.outcome.value, created_at=feedback.created_at, due_at=feedback.due_at,
            given_at=feedback.given_at, given_by=feedback.given_by, method=feedback.method,
        ))

    async def for_contact(self, contact_id: str) -> ReferrerFeedback | None:
        row = (await self._c.execute(
            select(f.referrer_feedback).where(f.referrer_feedback.c.contact_id == contact_id)
        )).mappings().first()
        if row is None:
            return None
        return ReferrerFeedback(
            feedback_id=row["feedback_id"], contact_id=row["contact_id"], decision_id=row["decision_id"],
            outcome=Outcome(row["outcome"]), created_at=utc(row["created_at"]),  # type: ignore[arg-type]
            due_at=utc(row["due_at"]), given_at=utc(row["given_at"]), given_by=row["given_by"],
            method=row["method"],
        )

    async def mark_given(self, contact_id: str, *, at: dt.datetime, by: str, method: str) -> bool:
        """Record that the referrer was told; False when already recorded (first telling stands)."""
        result = await self._c.execute(
            update(f.referrer_feedback)
            .where(f.referrer_feedback.c.contact_id == contact_id)
            .where(f.referrer_feedback.c.given_at.is_(None))
            .values(given_at=at, given_by=by, method=method)
        )
        return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class Notification:
    notification_id: str
    recipient: str
    kind: str  # contact_routed
    contact_id: str
    created_at: dt.datetime
    body: dict[str, Any]
    delivered_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None


class NotificationRepository:
    def __init__(self, connection: AsyncConnection, cipher: RowCipher) -> None:
        self._c = connection
        self._cipher = cipher

    async def add(self, notification: Notification) -> None:
        nid = notification.notification_id
        await self._c.execute(insert(f.notifications).values(
            notification_id=nid, recipient=notification.recipient, kind=notification.kind,
            contact_id=notification.contact_id, created_at=notification.created_at,
            delivered_at=notification.delivered_at,
            body=self._cipher.seal_json(notification.body, context=f"notifications.body:{nid}"),
        ))

    async def list(self, *, recipient: str | None = None, undelivered_only: bool = False,
                   contact_id: str | None = None, limit: int = 100) -> list[Notification]:
        n = f.notifications
        query = select(n).order_by(n.c.created_at.desc(), n.c.notification_id).limit(limit)
        if recipient is not None:
            query = query.where(n.c.recipient == recipient)
        if contact_id is not None:
            query = query.where(n.c.contact_id == contact_id)
        if undelivered_only:
            query = query.where(n.c.delivered_at.is_(None))
        rows = (await self._c.execute(query)).mappings().all()
        return [
            Notification(
                notification_id=r["notification_id"], recipient=r["recipient"], kind=r["kind"],
                contact_id=r["contact_id"], created_at=utc(r["created_at"]),  # type: ignore[arg-type]
                body=self._cipher.open_json(r["body"], context=f"notifications.body:{r['notification_id']}") or {},  # {}: purged
                delivered_at=utc(r["delivered_at"]),
                acknowledged_at=utc(r["acknowledged_at"]), acknowledged_by=r["acknowledged_by"],
            )
            for r in rows
        ]

    async def get(self, notification_id: str) -> Notification | None:
        n = f.notifications
        row = (await self._c.execute(select(n).where(n.c.notification_id == notification_id))).mappings().first()
        if row is None:
            return None
        return Notification(
            notification_id=row["notification_id"], recipient=row["recipient"], kind=row["kind"],
            contact_id=row["contact_id"], created_at=utc(row["created_at"]),  # type: ignore[arg-type]
            body=self._cipher.open_json(row["body"], context=f"notifications.body:{row['notification_id']}") or {},
            delivered_at=utc(row["delivered_at"]),
            acknowledged_at=utc(row["acknowledged_at"]), acknowledged_by=row["acknowledged_by"],
        )

    async def acknowledge(self, notification_id: str, *, at: dt.datetime, by: str) -> bool:
        """Mark it acknowledged (and delivered, if it was not yet); False when already acknowledged
        (the first acknowledgement stands)."""
        n = f.notifications
        result = await self._c.execute(
            update(n).where(n.c.notification_id == notification_id).where(n.c.acknowledged_at.is_(None))
            .values(acknowledged_at=at, acknowledged_by=by,
                    delivered_at=func.coalesce(n.c.delivered_at, at))
        )
        return bool(result.rowcount)

    async def mark_delivered(self, notification_ids: Sequence[str], at: dt.datetime) -> None:
        if not notification_ids:
            return
        n = f.notifications
        await self._c.execute(
            update(n).where(n.c.notification_id.in_(list(notification_ids)))
            .where(n.c.delivered_at.is_(None)).values(delivered_at=at)
        )
