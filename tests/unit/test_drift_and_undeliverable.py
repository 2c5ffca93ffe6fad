"""Partners that cannot be reached or stay silent: undeliverable requests, expiry notes,
chasing part way to the deadline, and what the summary says of each."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from broker.domain.enquiry import EnquiryState, RequestStatus
from broker.domain.summary import compose_summary
from tests.unit.builders import T0, dispatched_enquiry, reply_to


def outcomes(enquiry) -> dict[str, str]:  # type: ignore[no-untyped-def]
    payload = compose_summary(enquiry, summary_id="s", version=1, issued_at=T0)
    return {p["partner_id"]: p["outcome"] for p in payload["partners"]}


def test_undeliverable_request_is_recorded_with_its_reason() -> None:
    """A dead-lettered request makes that partner undeliverable, with the reason, while
    the others are still awaited."""
    enquiry = dispatched_enquiry(asked=3)
    assert enquiry.mark_undeliverable("req-1", "rejected by adapter", T0)
    request = enquiry.request("req-1")
    assert request.status is RequestStatus.UNDELIVERABLE and request.reason == "rejected by adapter"
    assert enquiry.state is EnquiryState.DISPATCHED
    assert not enquiry.mark_undeliverable("req-1", "again", T0)  # idempotent


def test_enquiry_closes_as_partial_when_nobody_left_can_answer() -> None:
    """When the last awaited partner is undeliverable the enquiry closes now, as partial,
    and the summary names that partner undeliverable."""
    enquiry = dispatched_enquiry(asked=2)
    enquiry.record_reply(reply_to(enquiry, enquiry.request("req-1")), T0 + dt.timedelta(minutes=5))
    enquiry.mark_undeliverable("req-2", "delivery_limit", T0 + dt.timedelta(minutes=6))
    assert enquiry.state is EnquiryState.PARTIAL and enquiry.completion == "undeliverable"
    assert outcomes(enquiry) == {"p1": "no_trace", "p2": "undeliverable"}


def test_an_answer_after_undeliverable_is_taken() -> None:
    """A request marked undeliverable that is answered after all (a chased copy got
    through) takes the answer."""
    enquiry = dispatched_enquiry(asked=2)
    enquiry.mark_undeliverable("req-1", "rejected", T0)
    assert enquiry.record_reply(reply_to(enquiry, enquiry.request("req-1")), T0)
    assert enquiry.request("req-1").status is RequestStatus.REPLIED


def test_expired_copy_is_only_a_note_shown_with_no_reply() -> None:
    """An expired request changes no status (the deadline decides); its note becomes the
    reason shown when that partner ends as no_reply."""
    enquiry = dispatched_enquiry(asked=1)
    assert enquiry.note_expired("req-1", "expired unread in the partner's queue")
    assert enquiry.request("req-1").status is RequestStatus.PENDING
    enquiry.expire(enquiry.deadline_at)
    payload = compose_summary(enquiry, summary_id="s", version=1, issued_at=T0)
    partner = payload["partners"][0]
    assert partner["outcome"] == "no_reply" and "expired" in partner["reason"]


def test_chase_marks_each_pending_partner_once_and_flags_drift() -> None:
    """Chasing takes every partner still pending, once; those that replied are not chased;
    chased partners still pending are what makes the enquiry drift."""
    enquiry = dispatched_enquiry(asked=3)
    enquiry.record_reply(reply_to(enquiry, enquiry.request("req-1")), T0)
    halfway = enquiry.chase_point(0.5)
    assert halfway == enquiry.opened_at + (enquiry.deadline_at - enquiry.opened_at) / 2
    chased = enquiry.chase(halfway)
    assert [r.partner_id for r in chased] == ["p2", "p3"]
    assert enquiry.chase(halfway) == []
    drifting = enquiry.drifting(halfway + dt.timedelta(minutes=1))
    assert [(r.partner_id, waited) for r, waited in drifting] == [
        ("p2", halfway + dt.timedelta(minutes=1) - enquiry.opened_at),
        ("p3", halfway + dt.timedelta(minutes=1) - enquiry.opened_at),
    ]
    enquiry.record_reply(reply_to(enquiry, enquiry.request("req-2")), halfway)
    assert [r.partner_id for r, _ in enquiry.drifting(halfway)] == ["p3"]
    enquiry.expire(enquiry.deadline_at)
    assert enquiry.drifting(enquiry.deadline_at) == [] and enquiry.chase(enquiry.deadline_at) == []


@settings(deadline=None)
@given(st.lists(st.sampled_from(["reply", "undeliverable", "chase", "expire", "note"]), max_size=20),
       st.permutations(["req-1", "req-2", "req-3"]))
def test_every_asked_partner_ends_with_exactly_one_outcome(steps: list[str], order: list[str]) -> None:
    """Whatever mix of replies, dead letters, chases, notes and the deadline, each asked
    partner has one status at every step, and a closed enquiry leaves nobody pending."""
    enquiry = dispatched_enquiry(asked=3)
    now = T0
    for index, step in enumerate(steps):
        now += dt.timedelta(minutes=10)
        target = order[index % 3]
        if step == "reply":
            enquiry.record_reply(reply_to(enquiry, enquiry.request(target)), now)
        elif step == "undeliverable":
            enquiry.mark_undeliverable(target, "delivery_limit", now)
        elif step == "chase":
            enquiry.chase(now)
        elif step == "note":
            enquiry.note_expired(target, "expired")
        else:
            enquiry.expire(enquiry.deadline_at)
        statuses = [r.status for r in enquiry.requests]
        assert len(statuses) == 3
        if enquiry.state is not EnquiryState.DISPATCHED:
            assert RequestStatus.PENDING not in statuses
        if enquiry.state is EnquiryState.COMPLETE:
            assert set(statuses) == {RequestStatus.REPLIED}
