"""The wire contract: answers are consistent, requests are well-formed, and NRP filtering."""

from __future__ import annotations

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.sdk.messages import Answer, Envelope, Match, PartnerReply, PartnerRequest
from adapters.sdk.runner import nrp_filter

from .builders import wire_brag, wire_finding, wire_match, wire_request_fields

# --- Answer ---------------------------------------------------------------------------------------


def test_findings_answer_with_findings_and_brag_is_valid() -> None:
    """An outcome of findings with at least one finding and a brag is accepted."""
    answer = Answer.with_findings([wire_finding()], wire_brag("red"))
    assert answer.outcome == "findings" and answer.brag is not None and answer.brag.rating == "red"


def test_findings_answer_needs_a_brag() -> None:
    """Findings without a BRAG rating are refused."""
    with pytest.raises(pydantic.ValidationError, match="needs at least one finding and a brag"):
        Answer(outcome="findings", findings=[wire_finding()])


def test_findings_answer_needs_at_least_one_finding() -> None:
    """An outcome of findings with an empty list is refused."""
    with pytest.raises(pydantic.ValidationError, match="needs at least one finding and a brag"):
        Answer(outcome="findings", findings=[], brag=wire_brag())


def test_no_trace_answer_carries_nothing() -> None:
    """No trace is valid bare, and refuses findings or a declined reason."""
    assert Answer.no_trace().findings == [] and Answer.no_trace().brag is None
    with pytest.raises(pydantic.ValidationError, match="an outcome of no_trace carries no findings"):
        Answer(outcome="no_trace", findings=[wire_finding()], brag=wire_brag())
    with pytest.raises(pydantic.ValidationError, match="only a declined outcome carries a declined_reason"):
        Answer(outcome="no_trace", declined_reason="we do not share this")


def test_declined_answer_needs_a_reason() -> None:
    """Declining requires a reason, and a blank reason does not count."""
    assert Answer.declined("Not covered by our agreement").declined_reason == "Not covered by our agreement"
    with pytest.raises(pydantic.ValidationError, match="a declined outcome needs a declined_reason"):
        Answer(outcome="declined")
    with pytest.raises(pydantic.ValidationError):
        Answer.declined("   ")


def test_declined_answer_carries_no_findings() -> None:
    """A declined answer may not smuggle findings."""
    with pytest.raises(pydantic.ValidationError, match="an outcome of declined carries no findings"):
        Answer(outcome="declined", declined_reason="no", findings=[wire_finding()], brag=wire_brag())


def test_findings_answer_carries_no_declined_reason() -> None:
    """Only a declined answer carries a declined reason."""
    with pytest.raises(pydantic.ValidationError, match="only a declined outcome carries a declined_reason"):
        Answer(outcome="findings", findings=[wire_finding()], brag=wire_brag(), declined_reason="but")


def test_identifier_match_must_name_the_identifier() -> None:
    """A match by identifier must say which identifier, and confidence lies in [0, 1]."""
    with pytest.raises(pydantic.ValidationError, match="must name the identifier_type"):
        wire_match(identifier_type=None)
    assert wire_match(method="name_dob_postcode", identifier_type=None, confidence=0.8).confidence == 0.8
    with pytest.raises(pydantic.ValidationError):
        wire_match(confidence=1.01)


def test_reply_is_an_answer_bound_to_its_request() -> None:
    """A partner reply follows the answer rules and also names request, enquiry and partner."""
    reply = PartnerReply.model_validate(
        {"outcome": "no_trace", "request_id": "req-1", "enquiry_id": "enq-1", "partner_id": "police",
         "replied_at": "2026-03-02T10:00:00Z"}
    )
    assert reply.partner_id == "police"
    with pytest.raises(pydantic.ValidationError, match="needs at least one finding and a brag"):
        PartnerReply.model_validate(
            {"outcome": "findings", "request_id": "req-1", "enquiry_id": "enq-1", "partner_id": "police",
             "replied_at": "2026-03-02T10:00:00Z"}
        )


# --- PartnerRequest ------------------------------------------------------------------------------------


def test_valid_request_is_accepted() -> None:
    """A well-formed request parses, keeping its categories and subjects."""
    request = PartnerRequest.model_validate(wire_request_fields())
    assert request.categories == ["police.incidents", "police.domestic_abuse"]
    assert [s.subject_ref for s in request.subjects] == ["c1", "m1"]


@pytest.mark.parametrize("deadline", ["2026-03-02T09:00:00Z", "2026-03-02T08:59:59Z"])
def test_request_deadline_must_be_after_issue(deadline: str) -> None:
    """A deadline at or before the issue time is refused."""
    with pytest.raises(pydantic.ValidationError, match="deadline must be after issued_at"):
        PartnerRequest.model_validate(wire_request_fields(deadline=deadline))


def test_request_subject_refs_must_be_unique() -> None:
    """Two subjects with the same ref in one request are refused."""
    fields = wire_request_fields()
    fields["subjects"][1]["subject_ref"] = "c1"
    with pytest.raises(pydantic.ValidationError, match="subject_ref values must be unique"):
        PartnerRequest.model_validate(fields)


def test_request_needs_categories_and_subjects() -> None:
    """A request asking for nothing, or about nobody, is refused."""
    with pytest.raises(pydantic.ValidationError, match="categories"):
        PartnerRequest.model_validate(wire_request_fields(categories=[]))
    with pytest.raises(pydantic.ValidationError, match="subjects"):
        PartnerRequest.model_validate(wire_request_fields(subjects=[]))


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (PartnerRequest, wire_request_fields(consent_override=True)),
        (Answer, {"outcome": "no_trace", "note": "x"}),
        (Envelope, {"v": 1, "type": "mash.partner-request", "jws": "a" * 20, "extra": 1}),
        (Match, {"subject_ref": "c1", "method": "name_dob_postcode", "confidence": 0.5, "score": 9}),
    ],
)
def test_extra_fields_are_forbidden(model: type[pydantic.BaseModel], fields: dict[str, object]) -> None:
    """Unknown fields are refused rather than silently ignored."""
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        model.model_validate(fields)


def test_extra_field_on_a_nested_subject_is_forbidden() -> None:
    """Unknown fields inside a request subject are refused too."""
    fields = wire_request_fields()
    fields["subjects"][0]["ethnicity"] = "not asked for"
    with pytest.raises(pydantic.ValidationError, match="Extra inputs are not permitted"):
        PartnerRequest.model_validate(fields)


def test_envelope_accepts_only_version_1_and_known_types() -> None:
    """The envelope's version and type are fixed values."""
    assert Envelope(v=1, type="mash.partner-reply", jws="x" * 20).v == 1
    with pytest.raises(pydantic.ValidationError):
        Envelope.model_validate({"v": 2, "type": "mash.partner-reply", "jws": "x" * 20})
    with pytest.raises(pydantic.ValidationError):
        Envelope.model_validate({"v": 1, "type": "mash.enquiry-summary", "jws": "x" * 20})


# --- NRP filter -------------------------------------------------------------------------------------------


def test_nrp_filter_drops_findings_outside_the_requested_categories() -> None:
    """Only findings in the categories asked for are kept; the brag stays."""
    answer = Answer.with_findings(
        [wire_finding("police.incidents"), wire_finding("police.intelligence"), wire_finding("police.arrests")],
        wire_brag("amber"),
    )
    filtered = nrp_filter(answer, ["police.incidents", "police.arrests"])
    assert [f.category for f in filtered.findings] == ["police.incidents", "police.arrests"]
    assert filtered.outcome == "findings" and filtered.brag == wire_brag("amber")


def test_nrp_filter_turns_an_all_filtered_answer_into_no_trace() -> None:
    """When nothing asked for was found, the answer becomes no trace with no brag."""
    answer = Answer.with_findings([wire_finding("police.intelligence")], wire_brag("red"))
    filtered = nrp_filter(answer, ["police.incidents"])
    assert filtered == Answer.no_trace()
    assert filtered.brag is None and filtered.findings == []


def test_nrp_filter_leaves_no_trace_and_declined_alone() -> None:
    """Answers without findings pass through unchanged."""
    for answer in (Answer.no_trace(), Answer.declined("not covered")):
        assert nrp_filter(answer, ["police.incidents"]) is answer


CATEGORIES = ["police.a", "police.b", "police.c", "police.d"]


@given(
    st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=8),
    st.lists(st.sampled_from(CATEGORIES), max_size=4),
)
def test_nrp_filter_never_returns_a_category_not_asked_for(found: list[str], asked: list[str]) -> None:
    """Whatever was found and asked, the filtered answer holds exactly the asked-for findings, in order."""
    answer = Answer.with_findings([wire_finding(c) for c in found], wire_brag())
    filtered = nrp_filter(answer, asked)
    kept = [c for c in found if c in asked]
    assert [f.category for f in filtered.findings] == kept
    assert filtered.outcome == ("findings" if kept else "no_trace")
