"""The Enquiry state machine: legal and illegal transitions, replies and the deadline."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from broker.domain.brag import Brag
from broker.domain.enquiry import TERMINAL, TRANSITIONS, Enquiry, EnquiryState, RequestStatus
from broker.domain.errors import IllegalTransition, ReplyRejected

from .builders import dispatched_enquiry, not_asked_request, open_enquiry, pending_request, reply_to

LEGAL_STATES = set(EnquiryState)


def _after_deadline(enquiry: Enquiry, minutes: int = 0) -> dt.datetime:
    return enquiry.deadline_at + dt.timedelta(minutes=minutes)


# --- legal transitions --------------------------------------------------------------------------


def test_opened_enquiry_can_be_refused() -> None:
    """opened -> refused records the reason and sends nothing."""
    enquiry = open_enquiry()
    enquiry.refuse("no consent decision is recorded")
    assert enquiry.state is EnquiryState.REFUSED
    assert enquiry.refusal_reason == "no consent decision is recorded"
    assert enquiry.requests == [] and enquiry.dispatched_at is None


def test_opened_dispatched_complete_when_every_asked_partner_replies() -> None:
    """opened -> dispatched -> complete once the last pending partner replies, and not before."""
    enquiry = dispatched_enquiry(asked=2, not_asked=1)
    assert [r.status for r in enquiry.requests] == [
        RequestStatus.PENDING, RequestStatus.PENDING, RequestStatus.NOT_ASKED
    ]
    first_at = enquiry.opened_at + dt.timedelta(hours=1)
    assert enquiry.record_reply(reply_to(enquiry, enquiry.requests[0]), first_at) is True
    assert enquiry.state is EnquiryState.DISPATCHED
    last_at = enquiry.opened_at + dt.timedelta(hours=2)
    assert enquiry.record_reply(reply_to(enquiry, enquiry.requests[1], brag=Brag.RED), last_at) is True
    assert enquiry.state is EnquiryState.COMPLETE
    assert enquiry.completion == "all_replied"
    assert enquiry.closed_at == last_at
    assert enquiry.requests[2].status is RequestStatus.NOT_ASKED


def test_dispatched_becomes_partial_at_the_deadline() -> None:
    """dispatched -> partial at the deadline: pending partners become no_reply; replied ones stay."""
    enquiry = dispatched_enquiry(asked=3)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0]), enquiry.opened_at + dt.timedelta(hours=1))
    assert enquiry.expire(enquiry.deadline_at) is True
    assert enquiry.state is EnquiryState.PARTIAL
    assert enquiry.completion == "deadline"
    assert enquiry.closed_at == enquiry.deadline_at
    assert [r.status for r in enquiry.requests] == [
        RequestStatus.REPLIED, RequestStatus.NO_REPLY, RequestStatus.NO_REPLY
    ]


def test_deadline_follows_the_brag_timescale() -> None:
    """Red gets 4 hours, amber 24, green and blue 72."""
    hours = {Brag.RED: 4, Brag.AMBER: 24, Brag.GREEN: 72, Brag.BLUE: 72}
    for brag, expected in hours.items():
        enquiry = open_enquiry(brag=brag)
        assert enquiry.deadline_at - enquiry.opened_at == dt.timedelta(hours=expected)


# --- illegal transitions --------------------------------------------------------------------------


def test_the_transition_table_allows_only_the_documented_steps() -> None:
    """Only opened->refused, opened->dispatched, dispatched->complete and dispatched->partial exist."""
    allowed = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert allowed == {
        (EnquiryState.OPENED, EnquiryState.REFUSED),
        (EnquiryState.OPENED, EnquiryState.DISPATCHED),
        (EnquiryState.DISPATCHED, EnquiryState.COMPLETE),
        (EnquiryState.DISPATCHED, EnquiryState.PARTIAL),
    }
    assert all(not TRANSITIONS[state] for state in TERMINAL)


def test_refused_enquiry_cannot_be_dispatched() -> None:
    """refused -> dispatched raises IllegalTransition and changes nothing."""
    enquiry = open_enquiry()
    enquiry.refuse("no consent")
    with pytest.raises(IllegalTransition, match=r"enquiry enq-1 cannot go from refused to dispatched"):
        enquiry.dispatch([pending_request(1)], enquiry.opened_at)
    assert enquiry.state is EnquiryState.REFUSED and enquiry.requests == []


def test_refused_enquiry_cannot_be_refused_again() -> None:
    """A terminal state has no way out, not even to itself."""
    enquiry = open_enquiry()
    enquiry.refuse("first")
    with pytest.raises(IllegalTransition, match="cannot go from refused to refused"):
        enquiry.refuse("second")
    assert enquiry.refusal_reason == "first"


def test_complete_enquiry_cannot_become_partial() -> None:
    """complete -> partial is illegal: expiring a complete enquiry changes nothing and the guard refuses the move."""
    enquiry = dispatched_enquiry(asked=1)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0]), enquiry.opened_at)
    assert enquiry.state is EnquiryState.COMPLETE
    assert enquiry.expire(_after_deadline(enquiry, 60)) is False
    assert enquiry.state is EnquiryState.COMPLETE and enquiry.completion == "all_replied"
    with pytest.raises(IllegalTransition, match="cannot go from complete to partial"):
        enquiry._move(EnquiryState.PARTIAL)


@pytest.mark.parametrize("closing", ["complete", "partial"])
def test_closed_enquiry_cannot_be_dispatched_or_refused(closing: str) -> None:
    """Once complete or partial, neither dispatch nor refuse is allowed."""
    enquiry = dispatched_enquiry(asked=1)
    if closing == "complete":
        enquiry.record_reply(reply_to(enquiry, enquiry.requests[0]), enquiry.opened_at)
    else:
        enquiry.expire(enquiry.deadline_at)
    with pytest.raises(IllegalTransition, match=f"cannot go from {closing} to dispatched"):
        enquiry.dispatch([pending_request(9)], enquiry.deadline_at)
    with pytest.raises(IllegalTransition, match=f"cannot go from {closing} to refused"):
        enquiry.refuse("too late")


def test_dispatch_with_no_pending_partner_is_illegal() -> None:
    """An enquiry cannot be dispatched when every partner is not_asked (or there are none)."""
    enquiry = open_enquiry()
    with pytest.raises(IllegalTransition, match="cannot be dispatched with no partner to ask"):
        enquiry.dispatch([not_asked_request(1), not_asked_request(2)], enquiry.opened_at)
    with pytest.raises(IllegalTransition, match="no partner to ask"):
        enquiry.dispatch([], enquiry.opened_at)
    assert enquiry.state is EnquiryState.OPENED


def test_dispatched_enquiry_cannot_be_dispatched_again() -> None:
    """dispatched -> dispatched is illegal and the original requests stay."""
    enquiry = dispatched_enquiry(asked=2)
    with pytest.raises(IllegalTransition, match="cannot go from dispatched to dispatched"):
        enquiry.dispatch([pending_request(7)], enquiry.opened_at)
    assert [r.partner_id for r in enquiry.requests] == ["p1", "p2"]


def test_expire_before_the_deadline_does_nothing() -> None:
    """Expiring one microsecond before the deadline returns False and leaves every request pending."""
    enquiry = dispatched_enquiry(asked=2)
    assert enquiry.expire(enquiry.deadline_at - dt.timedelta(microseconds=1)) is False
    assert enquiry.state is EnquiryState.DISPATCHED
    assert all(r.status is RequestStatus.PENDING for r in enquiry.requests)


def test_expire_when_not_dispatched_does_nothing() -> None:
    """Opened, refused or already partial enquiries are not expired again."""
    opened = open_enquiry()
    assert opened.expire(_after_deadline(opened)) is False
    refused = open_enquiry()
    refused.refuse("no")
    assert refused.expire(_after_deadline(refused)) is False
    partial = dispatched_enquiry(asked=1)
    assert partial.expire(_after_deadline(partial)) is True
    closed_at = partial.closed_at
    assert partial.expire(_after_deadline(partial, 90)) is False
    assert partial.closed_at == closed_at


# --- replies ----------------------------------------------------------------------------------------


def test_duplicate_reply_changes_nothing() -> None:
    """A second reply to the same request returns False and keeps the first reply."""
    enquiry = dispatched_enquiry(asked=2)
    first = reply_to(enquiry, enquiry.requests[0], brag=Brag.GREEN)
    assert enquiry.record_reply(first, enquiry.opened_at) is True
    again = dataclasses.replace(first, brag=Brag.RED, signed_reply="another.signature")
    assert enquiry.record_reply(again, enquiry.opened_at + dt.timedelta(minutes=5)) is False
    assert enquiry.requests[0].reply == first
    assert enquiry.state is EnquiryState.DISPATCHED


def test_duplicate_of_the_completing_reply_after_completion_changes_nothing() -> None:
    """Redelivery of a reply to a complete enquiry returns False and leaves it complete."""
    enquiry = dispatched_enquiry(asked=1)
    reply = reply_to(enquiry, enquiry.requests[0])
    enquiry.record_reply(reply, enquiry.opened_at)
    closed_at = enquiry.closed_at
    assert enquiry.record_reply(reply, _after_deadline(enquiry, 5)) is False
    assert enquiry.state is EnquiryState.COMPLETE and enquiry.closed_at == closed_at
    assert not enquiry.requests[0].late


def test_reply_from_a_partner_not_asked_is_rejected() -> None:
    """A reply to a not_asked request is rejected, naming the partner."""
    enquiry = dispatched_enquiry(asked=1, not_asked=1)
    with pytest.raises(ReplyRejected, match="partner p2 was not asked"):
        enquiry.record_reply(reply_to(enquiry, enquiry.requests[1]), enquiry.opened_at)
    assert enquiry.requests[1].status is RequestStatus.NOT_ASKED and enquiry.requests[1].reply is None


def test_reply_to_an_unknown_request_is_rejected() -> None:
    """A reply naming a request that is not part of the enquiry is rejected."""
    enquiry = dispatched_enquiry(asked=1)
    stray = dataclasses.replace(reply_to(enquiry, enquiry.requests[0]), request_id="req-99")
    with pytest.raises(ReplyRejected, match="request req-99 is not part of enquiry enq-1"):
        enquiry.record_reply(stray, enquiry.opened_at)


def test_reply_for_another_enquiry_is_rejected() -> None:
    """A reply whose enquiry id differs from this enquiry is rejected even if the request id matches."""
    enquiry = dispatched_enquiry(asked=1)
    other = dataclasses.replace(reply_to(enquiry, enquiry.requests[0]), enquiry_id="enq-2")
    with pytest.raises(ReplyRejected, match=r"claims partner p1 and enquiry enq-2.*for enquiry enq-1"):
        enquiry.record_reply(other, enquiry.opened_at)
    assert enquiry.requests[0].status is RequestStatus.PENDING


def test_reply_claiming_another_partner_is_rejected() -> None:
    """A partner cannot answer a request that went to another partner."""
    enquiry = dispatched_enquiry(asked=2)
    forged = dataclasses.replace(reply_to(enquiry, enquiry.requests[0]), partner_id="p2")
    with pytest.raises(ReplyRejected, match=r"claims partner p2 .* went to p1"):
        enquiry.record_reply(forged, enquiry.opened_at)
    assert enquiry.requests[0].reply is None


def test_reply_to_an_enquiry_never_dispatched_is_rejected() -> None:
    """An opened or refused enquiry has no requests, so any reply is rejected."""
    enquiry = open_enquiry()
    template = dispatched_enquiry(asked=1)
    with pytest.raises(ReplyRejected):
        enquiry.record_reply(reply_to(template, template.requests[0]), enquiry.opened_at)


def test_reply_after_partial_is_recorded_as_late() -> None:
    """A reply arriving after the deadline closed the enquiry is kept, marked late; the enquiry stays partial."""
    enquiry = dispatched_enquiry(asked=2)
    enquiry.expire(enquiry.deadline_at)
    late = reply_to(enquiry, enquiry.requests[1], brag=Brag.AMBER)
    assert enquiry.record_reply(late, _after_deadline(enquiry, 30)) is True
    request = enquiry.requests[1]
    assert request.status is RequestStatus.REPLIED and request.late and request.reply == late
    assert enquiry.state is EnquiryState.PARTIAL and enquiry.completion == "deadline"
    assert enquiry.closed_at == enquiry.deadline_at
    assert enquiry.requests[0].status is RequestStatus.NO_REPLY and not enquiry.requests[0].late
    assert enquiry.record_reply(late, _after_deadline(enquiry, 31)) is False


def test_suggested_brag_is_the_highest_partner_rating() -> None:
    """The suggestion is the most serious rating any partner gave; no ratings, no suggestion."""
    enquiry = dispatched_enquiry(asked=3)
    assert enquiry.suggested_brag() is None
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0], brag=Brag.GREEN), enquiry.opened_at)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[1], brag=Brag.AMBER), enquiry.opened_at)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[2]), enquiry.opened_at)
    assert enquiry.suggested_brag() is Brag.AMBER


# --- stateful property test ---------------------------------------------------------------------------


class EnquiryMachine(RuleBasedStateMachine):
    """Drive one dispatched enquiry with replies, duplicates, strays and deadline sweeps."""

    def __init__(self) -> None:
        super().__init__()
        self.enquiry = dispatched_enquiry(asked=4, not_asked=2, brag=Brag.RED)
        self.asked = [r for r in self.enquiry.requests if r.status is RequestStatus.PENDING]
        self.not_asked = [r for r in self.enquiry.requests if r.status is RequestStatus.NOT_ASKED]
        self.first_replies: dict[str, object] = {}
        self.was_closed = False
        self.closed_snapshot: tuple[object, ...] | None = None

    def _at(self, offset_minutes: int) -> dt.datetime:
        return self.enquiry.opened_at + dt.timedelta(minutes=offset_minutes)

    @rule(index=st.integers(0, 3), offset=st.integers(0, 600), brag=st.none() | st.sampled_from(list(Brag)))
    def reply(self, index: int, offset: int, brag: Brag | None) -> None:
        request = self.asked[index]
        state_before = self.enquiry.state
        already = request.reply is not None
        changed = self.enquiry.record_reply(reply_to(self.enquiry, request, brag=brag), self._at(offset))
        assert changed is (not already)
        if already:
            return
        self.first_replies[request.request_id] = request.reply
        assert request.status is RequestStatus.REPLIED
        assert request.late is (state_before is EnquiryState.PARTIAL)

    @precondition(lambda self: bool(self.first_replies))
    @rule(data=st.data(), offset=st.integers(0, 600))
    def duplicate_reply(self, data: st.DataObject, offset: int) -> None:
        request_id = data.draw(st.sampled_from(sorted(self.first_replies)))
        request = self.enquiry.request(request_id)
        before = (self.enquiry.state, request.status, request.late, self.enquiry.closed_at)
        assert self.enquiry.record_reply(reply_to(self.enquiry, request, brag=Brag.BLUE), self._at(offset)) is False
        assert request.reply is self.first_replies[request_id]
        assert (self.enquiry.state, request.status, request.late, self.enquiry.closed_at) == before

    @rule(index=st.integers(0, 1))
    def stray_reply(self, index: int) -> None:
        request = self.not_asked[index]
        with pytest.raises(ReplyRejected):
            self.enquiry.record_reply(reply_to(self.enquiry, request), self._at(1))
        with pytest.raises(ReplyRejected):
            other = dataclasses.replace(reply_to(self.enquiry, self.asked[0]), enquiry_id="enq-other")
            self.enquiry.record_reply(other, self._at(1))

    @rule(offset=st.integers(-300, 300))
    def expire(self, offset: int) -> None:
        at = self.enquiry.deadline_at + dt.timedelta(minutes=offset)
        state_before = self.enquiry.state
        expired = self.enquiry.expire(at)
        assert expired is (state_before is EnquiryState.DISPATCHED and offset >= 0)
        if expired:
            assert self.enquiry.closed_at == at

    @invariant()
    def state_is_legal(self) -> None:
        assert self.enquiry.state in LEGAL_STATES
        assert self.enquiry.state in (EnquiryState.DISPATCHED, EnquiryState.COMPLETE, EnquiryState.PARTIAL)

    @invariant()
    def each_request_has_exactly_one_status(self) -> None:
        for request in self.enquiry.requests:
            assert isinstance(request.status, RequestStatus)
            assert (request.reply is not None) is (request.status is RequestStatus.REPLIED)
        assert [r.status for r in self.not_asked] == [RequestStatus.NOT_ASKED] * len(self.not_asked)
        assert len({r.request_id for r in self.enquiry.requests}) == len(self.enquiry.requests)

    @invariant()
    def closed_never_reopens(self) -> None:
        state = self.enquiry.state
        if self.was_closed:
            assert state in (EnquiryState.COMPLETE, EnquiryState.PARTIAL)
            assert (state, self.enquiry.completion, self.enquiry.closed_at) == self.closed_snapshot
        if state in TERMINAL:
            self.was_closed = True
            self.closed_snapshot = (state, self.enquiry.completion, self.enquiry.closed_at)

    @invariant()
    def complete_means_everyone_asked_replied(self) -> None:
        if self.enquiry.state is EnquiryState.COMPLETE:
            assert self.enquiry.completion == "all_replied"
            assert all(r.status is RequestStatus.REPLIED and not r.late for r in self.asked)

    @invariant()
    def partial_means_everyone_asked_replied_or_no_reply(self) -> None:
        if self.enquiry.state is EnquiryState.PARTIAL:
            assert self.enquiry.completion == "deadline"
            assert all(r.status in (RequestStatus.REPLIED, RequestStatus.NO_REPLY) for r in self.asked)
        if self.enquiry.state is EnquiryState.DISPATCHED:
            assert any(r.status is RequestStatus.PENDING for r in self.asked)
            assert all(r.status in (RequestStatus.PENDING, RequestStatus.REPLIED) for r in self.asked)


class TestEnquiryMachine(EnquiryMachine.TestCase):  # type: ignore[name-defined,misc]
    """Random replies, duplicates, strays and deadline sweeps never break the enquiry's invariants."""

    settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
