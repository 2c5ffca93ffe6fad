"""The Contact state machine, Signs of Safety screening, re-ratings, decisions and referrer
feedback (pure domain), and the reference case system's matching."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.adapters.case_system import FileCaseSystem
from broker.domain.brag import Brag
from broker.domain.contact import (
    FINISHED,
    TRANSITIONS,
    AllocatedWorker,
    Contact,
    ContactConflict,
    ContactState,
    InvalidContact,
    Referrer,
)
from broker.domain.decision import Decision, InvalidDecision, Outcome, ReferrerFeedback
from broker.domain.errors import DomainError, InvalidSubject
from broker.domain.screening import BragProposal, InvalidScreening, Rerating, Sanction, SignsOfSafety
from broker.domain.subject import Subject
from broker.domain.timescales import Due

T0 = dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC)
SOS = SignsOfSafety("Bruising.", "Attends school.", "Checks.", 4)
REFERRER = Referrer("A. Teacher", "DSL", "Quillsby Primary", email="dsl@school.example")
CHILD = Subject.create(subject_ref="S1", role="child", given_name="Ruby", family_name="Ormstead",
                       date_of_birth=dt.date(2018, 6, 6), postcode="QY9 4WE", nhs_number="9991707530")
DUE = Due(T0 + dt.timedelta(hours=4), "working_hours", False)


def contact(**changes: object) -> Contact:
    values: dict[str, object] = {
        "contact_id": "c-1", "authority": "quillsby", "received_at": T0, "recorded_at": T0 + dt.timedelta(minutes=20),
        "recorded_by": "officer", "referrer": REFERRER, "reason": "Bruising seen at school.", "subjects": (CHILD,),
    }
    values.update(changes)
    return Contact.receive(**values)  # type: ignore[arg-type]


def proposal(brag: Brag = Brag.AMBER, by: str = "officer") -> BragProposal:
    return BragProposal(brag, SOS, by, T0)


def sanction(brag: Brag = Brag.AMBER, by: str = "manager", **changes: object) -> Sanction:
    return Sanction(brag=brag, sanctioned_by=by, sanctioned_at=T0, as_proposed=True, **changes)  # type: ignore[arg-type]


def screened(brag: Brag = Brag.AMBER) -> Contact:
    c = contact()
    c.propose(proposal(brag))
    c.sanction_rating(sanction(brag), DUE)
    return c


# --- receiving a contact ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"reason": "  "}, InvalidContact, "reason"),
        ({"received_at": T0 + dt.timedelta(hours=2)}, InvalidContact, "future"),
        ({"received_at": T0 - dt.timedelta(days=40)}, InvalidContact, "31 days"),
        ({"subjects": ()}, InvalidSubject, "at least one subject"),
        ({"subjects": (CHILD, CHILD)}, InvalidSubject, "unique"),
    ],
)
def test_a_contact_that_cannot_be_acted_on_is_refused(changes: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        contact(**changes)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": " ", "role": "DSL", "organisation": "School", "phone": "01632 960123"}, "referrer.name"),
        ({"name": "A", "role": "DSL", "organisation": "School"}, "phone number or an email"),
        ({"name": "A", "role": "DSL", "organisation": "School", "email": "not-an-email"}, "email"),
        ({"name": "A", "role": "DSL", "organisation": "School", "phone": "call me"}, "phone"),
    ],
)
def test_a_referrer_must_be_named_and_reachable(fields: dict, message: str) -> None:
    with pytest.raises(InvalidContact, match=message):
        Referrer(**fields)


# --- screening ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [-1, 11, True, 3.5])
def test_signs_of_safety_scale_is_a_whole_number_from_0_to_10(scale: object) -> None:
    with pytest.raises(InvalidScreening, match="scale"):
        SignsOfSafety("w", "ww", "n", scale)  # type: ignore[arg-type]


def test_signs_of_safety_answers_are_required() -> None:
    with pytest.raises(InvalidScreening, match="working_well"):
        SignsOfSafety("w", "   ", "n", 5)


def test_officer_proposes_and_a_different_manager_sanctions() -> None:
    c = contact()
    c.propose(proposal())
    assert c.state is ContactState.AWAITING_SANCTION and c.brag is None
    with pytest.raises(ContactConflict, match="four eyes"):
        c.sanction_rating(sanction(by="officer"), DUE)
    assert c.sanction_rating(sanction(), DUE) is None
    assert c.state is ContactState.SCREENED and c.brag is Brag.AMBER and c.due == DUE


def test_sanctioning_another_rating_is_a_rerating_with_a_reason() -> None:
    c = contact()
    c.propose(proposal(Brag.GREEN))
    with pytest.raises(InvalidScreening, match="needs a reason"):
        c.sanction_rating(sanction(Brag.RED), DUE)
    assert c.state is ContactState.AWAITING_SANCTION
    rerating = c.sanction_rating(sanction(Brag.RED, reason="Head injury."), DUE)
    assert rerating == Rerating(Brag.GREEN, Brag.RED, "Head injury.", "manager", T0) and c.reratings == [rerating]


def test_a_manager_may_screen_without_a_proposal_only_with_their_own_rationale() -> None:
    c = contact()
    with pytest.raises(InvalidScreening, match="Signs of Safety"):
        c.sanction_rating(sanction(), DUE)
    c.sanction_rating(sanction(rationale=SOS), DUE)
    assert c.state is ContactState.SCREENED


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_any_rerating_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(InvalidScreening, match="reason"):
        Rerating(Brag.AMBER, Brag.RED, reason, "manager", T0)  # type: ignore[arg-type]


def test_a_rerating_must_change_the_rating_and_start_from_the_current_one() -> None:
    c = screened(Brag.AMBER)
    with pytest.raises(InvalidScreening, match="must change"):
        Rerating(Brag.AMBER, Brag.AMBER, "why", "manager", T0)
    with pytest.raises(ContactConflict, match="reload"):
        c.rerate(Rerating(Brag.GREEN, Brag.RED, "why", "manager", T0), DUE)
    later = Due(T0 + dt.timedelta(hours=1), "out_of_hours", False)
    c.rerate(Rerating(Brag.AMBER, Brag.RED, "New incident.", "manager", T0), later)
    assert c.brag is Brag.RED and c.due == later and len(c.reratings) == 1


# --- routes out of screening ----------------------------------------------------------------------


def test_an_allocated_contact_is_finished_at_the_front_door() -> None:
    c = contact()
    c.route_to_allocated_worker(AllocatedWorker("sw.x", "X", "Team", "LCS-1", "S1", "nhs_number"))
    for step in (lambda: c.propose(proposal()), c.may_open_enquiry, lambda: c.decide("d", T0)):
        with pytest.raises(ContactConflict):
            step()
    assert not c.overdue(T0 + dt.timedelta(days=30))


def test_blue_closes_with_advice_and_only_blue() -> None:
    amber = screened(Brag.AMBER)
    with pytest.raises(ContactConflict, match="only a blue contact"):
        amber.close_universal("Family Hub", "manager", T0, "d-1")
    blue = screened(Brag.BLUE)
    with pytest.raises(ContactConflict, match="blue"):
        blue.may_open_enquiry()
    with pytest.raises(ContactConflict, match="universal-services advice"):
        blue.decide("d-1", T0)
    with pytest.raises(InvalidContact, match="advice"):
        blue.close_universal(" ", "manager", T0, "d-1")
    blue.close_universal("Family Hub.", "manager", T0, "d-1")
    assert blue.state is ContactState.CLOSED_UNIVERSAL and blue.decision_id == "d-1"


def test_enquiry_then_decision_and_timeliness() -> None:
    c = screened(Brag.RED)
    c.link_enquiry("e-1", T0)
    assert c.state is ContactState.ENQUIRY_OPENED and c.overdue(DUE.at + dt.timedelta(seconds=1))
    c.rerate(Rerating(Brag.RED, Brag.AMBER, "Police info was about another family.", "manager", T0), DUE)
    c.decide("d-1", DUE.at - dt.timedelta(minutes=1))
    assert c.state is ContactState.DECIDED and c.met_timescale() is True and not c.overdue(DUE.at + dt.timedelta(days=9))
    with pytest.raises(ContactConflict):
        c.rerate(Rerating(Brag.AMBER, Brag.RED, "too late", "manager", T0), DUE)


OPERATIONS = st.lists(st.sampled_from([
    "route", "propose", "propose_self", "sanction", "sanction_other", "rerate_red", "rerate_green",
    "close", "open", "decide",
]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(ops=OPERATIONS, brag=st.sampled_from(list(Brag)))
def test_any_sequence_of_steps_only_follows_the_state_machine(ops: list[str], brag: Brag) -> None:
    """Whatever is tried in whatever order, each accepted step is an allowed transition, a
    refused step changes nothing, only screened-or-later contacts carry a rating, and every
    change of rating after the sanction has a recorded re-rating."""
    c = contact()
    steps = {
        "route": lambda: c.route_to_allocated_worker(AllocatedWorker("sw", "W", "T", None, "S1", "nhs_number")),
        "propose": lambda: c.propose(proposal(brag)),
        "propose_self": lambda: c.propose(proposal(brag, by="manager")),
        "sanction": lambda: c.sanction_rating(sanction(c.proposal.brag if c.proposal else brag, rationale=SOS), DUE),
        "sanction_other": lambda: c.sanction_rating(sanction(Brag.RED, reason="r", rationale=SOS), DUE),
        "rerate_red": lambda: c.rerate(Rerating(c.brag or Brag.BLUE, Brag.RED, "r", "manager", T0), DUE),
        "rerate_green": lambda: c.rerate(Rerating(c.brag or Brag.BLUE, Brag.GREEN, "r", "manager", T0), DUE),
        "close": lambda: c.close_universal("advice", "manager", T0, "d"),
        "open": lambda: c.link_enquiry("e", T0),
        "decide": lambda: c.decide("d", T0),
    }
    for op in ops:
        before = (c.state, c.brag, len(c.reratings))
        try:
            steps[op]()
        except DomainError:
            assert (c.state, c.brag, len(c.reratings)) == before
            continue
        assert c.state is before[0] or c.state in TRANSITIONS[before[0]]
        if before[0] in FINISHED:
            pytest.fail(f"{op} changed a finished contact")
    rated = c.state in {ContactState.SCREENED, ContactState.ENQUIRY_OPENED, ContactState.DECIDED,
                        ContactState.CLOSED_UNIVERSAL}
    assert (c.brag is not None) == rated
    if c.sanction is not None:
        chain = [c.proposal.brag] if c.proposal else [c.sanction.brag]
        for r in c.reratings:
            assert r.from_brag is chain[-1] and r.reason
            chain.append(r.to_brag)
        assert chain[-1] is c.brag
    if c.state is ContactState.CLOSED_UNIVERSAL:
        assert c.brag is Brag.BLUE
    if c.enquiry_id is not None:
        assert c.state in {ContactState.ENQUIRY_OPENED, ContactState.DECIDED}


# --- decisions and feedback ----------------------------------------------------------------------


def decision(**changes: object) -> Decision:
    values: dict[str, object] = {
        "decision_id": "d-1", "contact_id": "c-1", "outcome": Outcome.SECTION_17_ASSESSMENT,
        "rationale": "Needs assessment.", "decided_by": "manager", "decided_at": T0, "brag": Brag.AMBER,
        "enquiry_id": "e-1", "summary_id": "s-1", "summary_sha256": "a" * 64,
    }
    values.update(changes)
    return Decision(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rationale": "  "}, "rationale"),
        ({"summary_sha256": None}, "both"),
        ({"summary_sha256": "XYZ"}, "hex"),
        ({"enquiry_id": None}, "enquiry"),
        ({"decided_at": dt.datetime(2026, 11, 23, 10)}, "time zone"),
    ],
)
def test_a_decision_record_is_complete(changes: dict, message: str) -> None:
    with pytest.raises(InvalidDecision, match=message):
        decision(**changes)


def test_the_signed_payload_is_the_whole_record_and_differences_are_named() -> None:
    d = decision()
    payload = d.payload()
    assert payload["outcome"] == "section_17_assessment" and payload["decided_at"] == "2026-11-23T10:00:00.000000Z"
    assert d.matches(payload) == []
    assert d.matches({**payload, "outcome": "no_further_action", "rationale": "other"}) == ["outcome", "rationale"]


@pytest.mark.parametrize("outcome", list(Outcome))
def test_feedback_tells_the_referrer_the_outcome_only(outcome: Outcome) -> None:
    feedback = ReferrerFeedback("f-1", "c-1", "d-1", outcome, T0, T0 + dt.timedelta(hours=8))
    view = feedback.view()
    assert set(view) == {"contact_id", "outcome", "outcome_label", "message"}
    assert view["outcome"] == outcome.value and view["message"] == outcome.referrer_message
    assert feedback.overdue(T0 + dt.timedelta(hours=9)) and not feedback.overdue(T0 + dt.timedelta(hours=7))


# --- the reference case system -------------------------------------------------------------------


def subject(**fields: object) -> Subject:
    base: dict[str, object] = {"subject_ref": "S1", "role": "child", "given_name": "Kai", "family_name": "Pellworth",
                               "date_of_birth": dt.date(2010, 1, 5), "postcode": "QY3 1YN"}
    base.update(fields)
    return Subject.create(**base)


ON = dt.date(2026, 11, 26)


def allocated(s: Subject, on: dt.date = ON) -> AllocatedWorker | None:
    return asyncio.run(FileCaseSystem.load().allocated_worker(s, on=on))


def test_case_system_matches_by_identifier_then_demographics() -> None:
    by_nhs = allocated(subject(nhs_number="9998716896"))
    assert by_nhs is not None and (by_nhs.worker_id, by_nhs.matched_by) == ("sw.amara.okafor", "nhs_number")
    by_name = allocated(subject())
    assert by_name is not None and by_name.matched_by == "name_dob_postcode"
    isaac = allocated(subject(given_name="Isaac", family_name="Pellwick", date_of_birth=dt.date(2018, 10, 14),
                              postcode="qy2 2jq", nhs_number="9998948746"))
    assert isaac is not None and isaac.worker_id == "sw.dan.whitlock"


def test_case_system_ignores_conflicting_identifiers_other_postcodes_and_ended_or_future_allocations() -> None:
    assert allocated(subject(nhs_number="9434765919")) is None  # same name, DOB, postcode; another NHS number
    assert allocated(subject(postcode="QY9 4WE")) is None
    ruby = subject(given_name="Ruby", family_name="Ormstead", date_of_birth=dt.date(2018, 6, 6), postcode="QY9 4WE",
                   nhs_number="9991707530")
    assert allocated(ruby) is None
    assert allocated(ruby, on=dt.date(2025, 3, 28)) is not None  # the last day of her allocation
    assert allocated(subject(nhs_number="9998716896"), on=dt.date(2026, 9, 13)) is None  # before it began
