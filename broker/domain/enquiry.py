"""The Enquiry aggregate and its explicit state machine.

    opened ──> refused                      (a gate said no; nothing is sent)
    opened ──> dispatched ──> complete      (every asked partner replied)
                         └──> partial       (the deadline passed first)

Each partner has its own request with its own status:

    pending ──> replied | no_reply          (asked partners)
    pending ──> undeliverable               (the request was dead-lettered: expired, rejected
                                             by the partner's adapter, or over the delivery limit)
    not_asked                               (left out by the agreement gate, with a reason)

A partner still pending when a set share of its time has passed is chased (its
request re-sent under the same request id) and the enquiry is at risk of drift.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from broker.domain.brag import Brag
from broker.domain.consent import ConsentDecision, GateOutcome
from broker.domain.errors import IllegalTransition, ReplyRejected
from broker.domain.replies import PartnerReply
from broker.domain.subject import Subject


class EnquiryState(str, enum.Enum):
    OPENED = "opened"
    REFUSED = "refused"
    DISPATCHED = "dispatched"
    COMPLETE = "complete"
    PARTIAL = "partial"


class RequestStatus(str, enum.Enum):
    PENDING = "pending"
    REPLIED = "replied"
    NO_REPLY = "no_reply"
    NOT_ASKED = "not_asked"
    UNDELIVERABLE = "undeliverable"


TRANSITIONS: dict[EnquiryState, frozenset[EnquiryState]] = {
    EnquiryState.OPENED: frozenset({EnquiryState.REFUSED, EnquiryState.DISPATCHED}),
    EnquiryState.DISPATCHED: frozenset({EnquiryState.COMPLETE, EnquiryState.PARTIAL}),
    EnquiryState.REFUSED: frozenset(),
    EnquiryState.COMPLETE: frozenset(),
    EnquiryState.PARTIAL: frozenset(),
}

TERMINAL = frozenset({EnquiryState.REFUSED, EnquiryState.COMPLETE, EnquiryState.PARTIAL})


@dataclass(slots=True)
class PartnerRequest:
    """One partner's part in an enquiry."""

    request_id: str
    partner_id: str
    partner_name: str
    status: RequestStatus
    categories: tuple[str, ...] = ()
    agreement_id: str | None = None
    agreement_version: str | None = None
    reason: str | None = None
    reply: PartnerReply | None = None
    late: bool = False  # replied after the deadline closed the enquiry
    chased_at: dt.datetime | None = None
    retention_days: int | None = None  # from the agreement the request was sent under
    purged_at: dt.datetime | None = None  # findings removed when that retention ended


@dataclass(slots=True)
class Enquiry:
    """An enquiry about one child and household, from opening to its summary."""

    enquiry_id: str
    purpose: str
    brag: Brag
    subjects: tuple[Subject, ...]
    consent: ConsentDecision | None
    opened_by: str
    opened_at: dt.datetime
    deadline_at: dt.datetime
    state: EnquiryState = EnquiryState.OPENED
    requests: list[PartnerRequest] = field(default_factory=list)
    gate_outcomes: list[GateOutcome] = field(default_factory=list)
    refusal_reason: str | None = None
    dispatched_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    completion: str | None = None  # all_replied | deadline

    def _move(self, to: EnquiryState) -> None:
        if to not in TRANSITIONS[self.state]:
            raise IllegalTransition(
                f"enquiry {self.enquiry_id} cannot go from {self.state.value} to {to.value}"
            )
        self.state = to

    def refuse(self, reason: str) -> None:
        """A gate refused the enquiry: nothing may be sent."""
        self._move(EnquiryState.REFUSED)
        self.refusal_reason = reason

    def dispatch(self, requests: list[PartnerRequest], at: dt.datetime) -> None:
        """Record who is asked (pending) and who is not (not_asked, with the reason)."""
        if not any(r.status is RequestStatus.PENDING for r in requests):
            raise IllegalTransition("an enquiry cannot be dispatched with no partner to ask")
        self._move(EnquiryState.DISPATCHED)
        self.requests = list(requests)
        self.dispatched_at = at

    def request(self, request_id: str) -> PartnerRequest:
        for request in self.requests:
            if request.request_id == request_id:
                return request
        raise ReplyRejected(f"request {request_id} is not part of enquiry {self.enquiry_id}")

    @property
    def pending(self) -> list[PartnerRequest]:
        return [r for r in self.requests if r.status is RequestStatus.PENDING]

    def record_reply(self, reply: PartnerReply, at: dt.datetime) -> bool:
        """Record a verified reply. Returns True when it changed anything.

        A second reply to the same request changes nothing (idempotent on the
        request id). A reply after the deadline closed the enquiry is recorded as
        late: it is never dropped, and the service issues a new summary version.
        A request marked undeliverable that is answered after all (one delivery
        was dead-lettered, a chase got through) takes the answer.
        """
        request = self.request(reply.request_id)
        if reply.partner_id != request.partner_id or reply.enquiry_id != self.enquiry_id:
            raise ReplyRejected(
                f"reply claims partner {reply.partner_id} and enquiry {reply.enquiry_id}, "
                f"but request {request.request_id} went to {request.partner_id} "
                f"for enquiry {self.enquiry_id}"
            )
        if request.status is RequestStatus.NOT_ASKED:
            raise ReplyRejected(f"partner {request.partner_id} was not asked")
        if request.reply is not None:
            return False
        if self.state is EnquiryState.DISPATCHED:
            request.reply = reply
            request.status = RequestStatus.REPLIED
            self._close_if_settled(at)
            return True
        if self.state is EnquiryState.PARTIAL:
            request.reply = reply
            request.status = RequestStatus.REPLIED
            request.late = True
            return True
        raise IllegalTransition(f"enquiry {self.enquiry_id} is {self.state.value}")

    def mark_undeliverable(self, request_id: str, reason: str, at: dt.datetime) -> bool:
        """A request could not be delivered. Returns True when it changed anything.

        When no asked partner is left pending, the enquiry closes as partial now
        rather than waiting for a deadline nobody can meet.
        """
        request = self.request(request_id)
        if request.status is not RequestStatus.PENDING or self.state is not EnquiryState.DISPATCHED:
            return False
        request.status = RequestStatus.UNDELIVERABLE
        request.reason = reason
        self._close_if_settled(at)
        return True

    def _close_if_settled(self, at: dt.datetime) -> None:
        """Nobody left to wait for: complete if every asked partner replied, else partial."""
        if self.pending:
            return
        if any(r.status is RequestStatus.UNDELIVERABLE for r in self.requests):
            self._close(EnquiryState.PARTIAL, "undeliverable", at)
        else:
            self._close(EnquiryState.COMPLETE, "all_replied", at)

    def note_expired(self, request_id: str, reason: str) -> bool:
        """A copy of a request expired unread in the partner's queue.

        Not a verdict on its own (it happens at the deadline, and a chased copy
        may expire after the first was answered): the note is kept as the reason
        shown if the partner ends as no_reply.
        """
        request = self.request(request_id)
        if request.status is not RequestStatus.PENDING or request.reason:
            return False
        request.reason = reason
        return True

    def chase_point(self, share: float) -> dt.datetime:
        """When a partner still pending is chased: `share` of the way to the deadline."""
        return self.opened_at + (self.deadline_at - self.opened_at) * share

    def chase(self, at: dt.datetime) -> list[PartnerRequest]:
        """Mark every pending, not yet chased request as chased; return them to re-send."""
        if self.state is not EnquiryState.DISPATCHED:
            return []
        due = [r for r in self.pending if r.chased_at is None]
        for request in due:
            request.chased_at = at
        return due

    def drifting(self, now: dt.datetime) -> list[tuple[PartnerRequest, dt.timedelta]]:
        """Chased partners still pending, with how long they have had so far."""
        if self.state is not EnquiryState.DISPATCHED:
            return []
        return [(r, now - self.opened_at) for r in self.pending if r.chased_at is not None]

    def expire(self, at: dt.datetime) -> bool:
        """At the deadline: every pending partner becomes no_reply, the enquiry partial."""
        if self.state is not EnquiryState.DISPATCHED or at < self.deadline_at:
            return False
        for request in self.pending:
            request.status = RequestStatus.NO_REPLY
        self._close(EnquiryState.PARTIAL, "deadline", at)
        return True

    def _close(self, to: EnquiryState, completion: str, at: dt.datetime) -> None:
        self._move(to)
        self.completion = completion
        self.closed_at = at

    def suggested_brag(self) -> Brag | None:
        """The highest BRAG any partner gave, or None when no partner rated."""
        return Brag.highest(
            r.reply.brag for r in self.requests if r.reply is not None and r.reply.brag
        )
