"""The summary a manager decides from: deterministic, complete, and only for closed enquiries."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.domain.brag import Brag
from broker.domain.enquiry import Enquiry, EnquiryState
from broker.domain.replies import PartnerReply
from broker.domain.summary import SUMMARY_SCHEMA_VERSION, SUMMARY_TYPE, compose_summary

from .builders import T0, dispatched_enquiry, domain_finding, open_enquiry, reply_to

ISSUED_AT = T0 + dt.timedelta(days=5)
RECORDED_AT = T0 + dt.timedelta(hours=2)
ORDER = [Brag.BLUE, Brag.GREEN, Brag.AMBER, Brag.RED]


def _summary(enquiry: Enquiry) -> dict[str, Any]:
    return compose_summary(enquiry, summary_id="sum-1", version=1, issued_at=ISSUED_AT)


def _partners(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["partner_id"]: p for p in summary["partners"]}


# --- order independence -------------------------------------------------------------------------

ASKED = 4
fates = st.lists(st.sampled_from(["on_time", "late", "never"]), min_size=ASKED, max_size=ASKED)
brags = st.lists(st.none() | st.sampled_from(ORDER), min_size=ASKED, max_size=ASKED)


def _replies(enquiry: Enquiry, brag_of: list[Brag | None]) -> list[PartnerReply]:
    asked = enquiry.requests[:ASKED]
    return [
        reply_to(
            enquiry,
            request,
            brag=brag_of[i],
            findings=(domain_finding(f"{request.partner_id}.x"), domain_finding(f"{request.partner_id}.y"))
            if brag_of[i] else None,
            replied_at=T0 + dt.timedelta(minutes=10 * (i + 1)),
        )
        for i, request in enumerate(asked)
    ]


def _run(brag_of: list[Brag | None], fate: list[str], before: list[int], after: list[int]) -> dict[str, Any]:
    """Record replies (by partner index) before the deadline, sweep, then record the late ones."""
    enquiry = dispatched_enquiry(asked=ASKED, not_asked=1)
    replies = _replies(enquiry, brag_of)
    for index in before:
        enquiry.record_reply(replies[index], RECORDED_AT)
    enquiry.expire(enquiry.deadline_at)
    for index in after:
        enquiry.record_reply(replies[index], enquiry.deadline_at + dt.timedelta(hours=1))
    return _summary(enquiry)


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[Brag | None], list[str], list[int], list[int]]:
    """Brags, fates, and a shuffled arrival order before/after the deadline with duplicates mixed in."""
    brag_of = draw(brags)
    fate = draw(fates)
    on_time = [i for i in range(ASKED) if fate[i] == "on_time"]
    late = [i for i in range(ASKED) if fate[i] == "late"]
    before = on_time + draw(st.lists(st.sampled_from(on_time), max_size=4)) if on_time else []
    after = late + draw(st.lists(st.sampled_from(on_time + late), max_size=4)) if on_time + late else []
    return brag_of, fate, draw(st.permutations(before)), draw(st.permutations(after))


@settings(deadline=None)
@given(arrivals())
def test_summary_does_not_depend_on_the_order_replies_arrived_in(
    case: tuple[list[Brag | None], list[str], list[int], list[int]],
) -> None:
    """Whatever order replies (and redelivered duplicates) arrive in, the summary is the same."""
    brag_of, fate, before, after = case
    shuffled = _run(brag_of, fate, before, after)
    in_order = _run(brag_of, fate, sorted(set(before)), sorted(set(after)))
    assert shuffled == in_order
    assert json.dumps(shuffled, sort_keys=True) == json.dumps(in_order, sort_keys=True)

    given_brags = [b for i, b in enumerate(brag_of) if b is not None and fate[i] != "never"]
    expected = max(given_brags, key=ORDER.index).value if given_brags else None
    assert shuffled["suggested_brag"] == expected
    if all(f == "on_time" for f in fate):
        assert (shuffled["state"], shuffled["completion"]) == ("complete", "all_replied")
    else:
        assert (shuffled["state"], shuffled["completion"]) == ("partial", "deadline")
        outcomes = {p["partner_id"]: p["outcome"] for p in shuffled["partners"]}
        for i in range(ASKED):
            if fate[i] == "never":
                assert outcomes[f"p{i + 1}"] == "no_reply"
        assert shuffled["late_replies"] == [f"p{i + 1}" for i in range(ASKED) if fate[i] == "late"]


# --- content ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), list(itertools.combinations(ORDER, 2)))
def test_suggested_brag_is_the_highest_partner_brag(low: Brag, high: Brag) -> None:
    """Blue < Green < Amber < Red: the suggestion is the most serious partner rating."""
    enquiry = dispatched_enquiry(asked=3)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0], brag=high), RECORDED_AT)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[1], brag=low), RECORDED_AT)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[2]), RECORDED_AT)
    summary = _summary(enquiry)
    assert summary["suggested_brag"] == high.value
    assert Brag.highest([low, high]) is high and Brag.highest([high, low]) is high
    assert low.rank < high.rank


def test_no_partner_rating_means_no_suggested_brag() -> None:
    """When every partner says no trace, there is no suggested BRAG (and the initial one is kept)."""
    enquiry = dispatched_enquiry(asked=2, brag=Brag.RED)
    for request in list(enquiry.requests):
        enquiry.record_reply(reply_to(enquiry, request), RECORDED_AT)
    summary = _summary(enquiry)
    assert summary["suggested_brag"] is None
    assert summary["initial_brag"] == "red"
    assert Brag.highest([]) is None


def test_not_asked_partners_carry_their_reason() -> None:
    """A partner left out by the agreement gate appears as not_asked with the reason."""
    enquiry = dispatched_enquiry(asked=1, not_asked=2)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0]), RECORDED_AT)
    partners = _partners(_summary(enquiry))
    for partner_id in ("p2", "p3"):
        assert partners[partner_id]["outcome"] == "not_asked"
        assert partners[partner_id]["reason"] == "agreement x v1 ended on 2024-12-31"
        assert partners[partner_id]["agreement"] is None
        assert partners[partner_id]["categories_requested"] == []


def test_partners_who_did_not_reply_appear_as_no_reply_at_the_deadline() -> None:
    """At the deadline, partners that never replied are listed as no_reply and the completion is deadline."""
    enquiry = dispatched_enquiry(asked=3)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[1], brag=Brag.GREEN), RECORDED_AT)
    enquiry.expire(enquiry.deadline_at)
    summary = _summary(enquiry)
    partners = _partners(summary)
    assert {pid: p["outcome"] for pid, p in partners.items()} == {
        "p1": "no_reply", "p2": "findings", "p3": "no_reply"
    }
    assert "findings" not in partners["p1"] and "brag" not in partners["p1"]
    assert (summary["state"], summary["completion"]) == ("partial", "deadline")
    assert summary["completed_at"] == enquiry.deadline_at.isoformat().replace("+00:00", "Z")
    assert summary["late_replies"] == []


def test_completion_is_all_replied_when_everyone_answers() -> None:
    """When every asked partner replies the summary says complete / all_replied, at the last reply's time."""
    enquiry = dispatched_enquiry(asked=2)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0]), T0 + dt.timedelta(hours=1))
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[1]), T0 + dt.timedelta(hours=3))
    summary = _summary(enquiry)
    assert (summary["state"], summary["completion"]) == ("complete", "all_replied")
    assert summary["completed_at"] == "2026-03-02T12:00:00Z"


def test_a_replied_partner_carries_its_findings_brag_and_signed_reply() -> None:
    """A partner's entry holds its outcome, BRAG and rationale, findings in its own order, and the signed reply."""
    enquiry = dispatched_enquiry(asked=1)
    findings = (domain_finding("cat.b", summary="second"), domain_finding("cat.a", summary="first"))
    reply = reply_to(enquiry, enquiry.requests[0], brag=Brag.AMBER, findings=findings)
    enquiry.record_reply(reply, RECORDED_AT)
    entry = _partners(_summary(enquiry))["p1"]
    assert entry["outcome"] == "findings"
    assert entry["brag"] == {"rating": "amber", "rationale": "amber because of what was found"}
    assert [f["summary"] for f in entry["findings"]] == ["second", "first"]
    assert entry["findings"][0]["date"] == "2026-01-15"
    assert entry["signed_reply"] == reply.signed_reply
    assert entry["agreement"] == {"id": "mash-tier2", "version": "1.0"}
    assert entry["late"] is False


def test_summary_header_fields() -> None:
    """The summary names its type, schema version, id, version, supersedes, times in UTC with Z."""
    enquiry = dispatched_enquiry(asked=1)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0]), RECORDED_AT)
    summary = compose_summary(enquiry, summary_id="sum-2", version=2, issued_at=ISSUED_AT, supersedes="sum-1")
    assert summary["type"] == SUMMARY_TYPE and summary["schema_version"] == SUMMARY_SCHEMA_VERSION
    assert (summary["summary_id"], summary["version"], summary["supersedes"]) == ("sum-2", 2, "sum-1")
    assert summary["issued_at"] == "2026-03-07T09:00:00Z"
    assert summary["opened_at"] == "2026-03-02T09:00:00Z"
    assert summary["agreements"] == [{"id": "mash-tier2", "version": "1.0"}]
    assert [s["subject_ref"] for s in summary["subjects"]] == ["c1", "m1"]
    assert summary["subjects"][0]["date_of_birth"] == "2016-05-04"
    assert summary["consent"]["status"] == "given"
    json.dumps(summary)  # JSON-ready


@pytest.mark.parametrize("state", ["opened", "refused", "dispatched"])
def test_summary_is_refused_for_an_enquiry_not_closed(state: str) -> None:
    """Only complete or partial enquiries have a summary."""
    if state == "dispatched":
        enquiry = dispatched_enquiry(asked=1)
    else:
        enquiry = open_enquiry()
        if state == "refused":
            enquiry.refuse("no consent")
    assert enquiry.state is EnquiryState(state)
    with pytest.raises(ValueError, match=f"enquiry enq-1 is {state}, not closed"):
        _summary(enquiry)
