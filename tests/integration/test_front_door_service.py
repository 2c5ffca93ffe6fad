"""The front door's use cases on SQLite and PostgreSQL, with the embedded partners: contacts,
the allocated-worker check, screening, re-rating, blue closure, the enquiry from a contact
(consent checked again), the signed decision and the referrer's feedback."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from broker.adapters.db import front_door_tables as f
from broker.adapters.db import tables as t
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.domain.access import Forbidden, NotVisible
from broker.domain.brag import Brag
from broker.domain.contact import ContactConflict, ContactState, InvalidContact
from broker.domain.decision import Outcome
from broker.domain.enquiry import EnquiryState
from broker.domain.screening import InvalidScreening
from broker.domain.subject import Subject
from broker.domain.timescales import due_for_brag
from tests.integration.front_door_helpers import (
    AUDITOR,
    KAI,
    KAI_WORKER,
    MANAGER,
    OFFICER,
    REFERRER_NAME,
    SECOND_MANAGER,
    SERVICE,
    SOS,
    consent,
    record,
)
from tests.integration.helpers import eventually

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(name="broker", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def _broker(request: pytest.FixtureRequest, workspace: DevWorkspace) -> AsyncIterator[Broker]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    broker = build_broker(Settings(dev_dir=workspace.root, database_url=url, relay_poll_s=0.05,
                                   sweep_interval_s=0.2))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def last_working_monday(broker: Broker) -> dt.datetime:
    """10:00 London on the latest Monday before today that is a working day (within 31 days)."""
    calendar = broker.front_door.authority.calendar
    day = dt.datetime.now(LONDON).date() - dt.timedelta(days=1)
    while not (day.weekday() == 0 and calendar.is_working_day(day)):
        day -= dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=LONDON)


async def screened(broker: Broker, brag: Brag = Brag.AMBER, **changes: object) -> str:
    recorded = await broker.front_door.record_contact(record(**changes))  # type: ignore[arg-type]
    await broker.front_door.propose_brag(recorded.contact_id, brag, SOS, actor=OFFICER)
    await broker.front_door.sanction(recorded.contact_id, actor=MANAGER)
    return recorded.contact_id


async def rows(broker: Broker, table: object) -> int:
    async with broker.engine.connect() as c:
        return int((await c.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_allocated_child_goes_to_the_worker_with_a_notification_and_never_to_an_enquiry(broker: Broker) -> None:
    """A contact about a child with an active allocation is routed to that social worker: a
    notification (delivered when the worker fetches it), no screening, no enquiry."""
    kai = (Subject.create(**{**KAI, "date_of_birth": dt.date(2010, 1, 5)}),)
    recorded = await broker.front_door.record_contact(record(subjects=kai))
    assert recorded.state is ContactState.ROUTED_TO_ALLOCATED_WORKER
    assert recorded.allocated_worker_id == "sw.amara.okafor"
    notes = await broker.front_door.notifications(actor=KAI_WORKER)
    assert [(n.contact_id, n.kind, n.recipient) for n in notes] == [
        (recorded.contact_id, "contact_routed", "sw.amara.okafor")]
    assert notes[0].delivered_at is None  # as it was when fetched; marked delivered by this fetch
    again = await broker.front_door.notifications(actor=KAI_WORKER)
    assert again[0].delivered_at is not None
    assert await broker.front_door.notifications(actor=KAI_WORKER, undelivered_only=True) == []
    view = await broker.front_door.read_contact(recorded.contact_id, actor=KAI_WORKER)
    assert view.referrer_visible and view.contact.allocated_worker.case_id == "LCS-104311"  # type: ignore[union-attr]
    with pytest.raises(ContactConflict, match="allocated social worker"):
        await broker.front_door.open_enquiry(recorded.contact_id, actor=MANAGER, consent=consent())
    with pytest.raises(ContactConflict):
        await broker.front_door.propose_brag(recorded.contact_id, Brag.RED, SOS, actor=OFFICER)
    assert await rows(broker, t.enquiries) == 0


async def test_an_ended_allocation_does_not_route_the_contact(broker: Broker) -> None:
    """Ruby's allocation ended in 2025: her contact is received for screening, no notification."""
    recorded = await broker.front_door.record_contact(record())
    assert recorded.state is ContactState.RECEIVED and recorded.allocated_worker_id is None
    assert await rows(broker, f.notifications) == 0


async def test_officer_proposes_manager_sanctions_and_the_due_time_counts_working_hours(broker: Broker) -> None:
    """Amber is 24 working hours from receipt: received Monday 10:00, due Thursday 10:00 (London)."""
    received = last_working_monday(broker)
    recorded = await broker.front_door.record_contact(record(received_at=received))
    proposed = await broker.front_door.propose_brag(recorded.contact_id, Brag.AMBER, SOS, actor=OFFICER)
    assert proposed.state is ContactState.AWAITING_SANCTION
    contact = await broker.front_door.sanction(recorded.contact_id, actor=MANAGER)
    assert contact.state is ContactState.SCREENED and contact.brag is Brag.AMBER
    assert contact.sanction.as_proposed and contact.reratings == []  # type: ignore[union-attr]
    authority = broker.front_door.authority
    expected = due_for_brag(received, Brag.AMBER, authority.timescales, authority.calendar)
    assert contact.due == expected and contact.due.basis == "working_hours"  # type: ignore[union-attr]
    week = [received.date() + dt.timedelta(days=d) for d in range(4)]
    if all(authority.calendar.is_working_day(d) for d in week):
        assert contact.due.at.astimezone(LONDON) == received + dt.timedelta(days=3)  # type: ignore[union-attr]
    stored = (await broker.front_door.read_contact(recorded.contact_id, actor=MANAGER)).contact
    assert stored.proposal.rationale == SOS and stored.due == expected  # type: ignore[union-attr]


async def test_the_proposer_cannot_sanction_their_own_rating_and_officers_cannot_sanction(broker: Broker) -> None:
    """Four eyes: a manager who proposed needs another manager; an officer may not sanction (403)."""
    recorded = await broker.front_door.record_contact(record())
    await broker.front_door.propose_brag(recorded.contact_id, Brag.RED, SOS, actor=MANAGER)
    with pytest.raises(Forbidden):
        await broker.front_door.sanction(recorded.contact_id, actor=OFFICER)
    with pytest.raises(ContactConflict, match="four eyes"):
        await broker.front_door.sanction(recorded.contact_id, actor=MANAGER)
    contact = await broker.front_door.sanction(recorded.contact_id, actor=SECOND_MANAGER)
    assert contact.brag is Brag.RED and contact.due.basis == "out_of_hours"  # type: ignore[union-attr]
    assert contact.due.at == contact.received_at + dt.timedelta(hours=4)  # type: ignore[union-attr]


async def test_sanctioning_another_rating_needs_a_reason_and_is_recorded_as_a_rerating(broker: Broker) -> None:
    """Amber proposed, red sanctioned: refused without a reason; with one, the history keeps it."""
    recorded = await broker.front_door.record_contact(record())
    await broker.front_door.propose_brag(recorded.contact_id, Brag.AMBER, SOS, actor=OFFICER)
    with pytest.raises(InvalidScreening, match="needs a reason"):
        await broker.front_door.sanction(recorded.contact_id, actor=MANAGER, brag=Brag.RED)
    contact = await broker.front_door.sanction(recorded.contact_id, actor=MANAGER, brag=Brag.RED,
                                               reason="Injury to a child under 10: act now.")
    assert [(r.from_brag, r.to_brag, r.by) for r in contact.reratings] == [(Brag.AMBER, Brag.RED, "test.manager")]
    stored = (await broker.front_door.read_contact(recorded.contact_id, actor=MANAGER)).contact
    assert stored.reratings[0].reason == "Injury to a child under 10: act now."


async def test_rerating_without_a_reason_is_refused_and_changes_nothing(broker: Broker) -> None:
    """A re-rating with a blank reason is refused; the rating and due time stay as they were."""
    contact_id = await screened(broker)
    for reason in ("", "   "):
        with pytest.raises(InvalidScreening, match="reason"):
            await broker.front_door.rerate(contact_id, to=Brag.RED, reason=reason, actor=MANAGER)
    with pytest.raises(Forbidden):
        await broker.front_door.rerate(contact_id, to=Brag.RED, reason="officer thinks so", actor=OFFICER)
    contact = (await broker.front_door.read_contact(contact_id, actor=MANAGER)).contact
    assert contact.brag is Brag.AMBER and contact.reratings == []


async def test_rerating_recomputes_the_due_time_from_receipt(broker: Broker) -> None:
    """Amber (24 working h) re-rated red (4 h, out of hours too): due is receipt + 4 h; the
    history keeps who, when and why; a stale `expected_from` is a conflict."""
    received = last_working_monday(broker)
    contact_id = await screened(broker, received_at=received)
    before = (await broker.front_door.read_contact(contact_id, actor=MANAGER)).contact.due
    contact = await broker.front_door.rerate(contact_id, to=Brag.RED, reason="Police report a new incident.",
                                             actor=MANAGER, expected_from=Brag.AMBER)
    assert contact.due is not None and before is not None
    assert contact.due.at == received.astimezone(dt.UTC) + dt.timedelta(hours=4) < before.at
    assert contact.due.basis == "out_of_hours"
    with pytest.raises(ContactConflict, match="reload"):
        await broker.front_door.rerate(contact_id, to=Brag.GREEN, reason="x", actor=MANAGER,
                                       expected_from=Brag.AMBER)
    back = await broker.front_door.rerate(contact_id, to=Brag.GREEN, reason="Incident was another family.",
                                          actor=MANAGER)
    assert back.due.at == received.astimezone(dt.UTC) + dt.timedelta(hours=72)  # type: ignore[union-attr]
    stored = (await broker.front_door.read_contact(contact_id, actor=MANAGER)).contact
    assert [(r.from_brag, r.to_brag) for r in stored.reratings] == [(Brag.AMBER, Brag.RED), (Brag.RED, Brag.GREEN)]
    async with broker.engine.connect() as c:
        after = (await c.execute(select(f.contact_reratings.c.due_at_after).order_by(f.contact_reratings.c.seq))).scalars().all()
    assert [a.replace(tzinfo=dt.UTC) if a.tzinfo is None else a for a in after] == [
        contact.due.at, back.due.at]  # type: ignore[union-attr]


async def test_blue_closes_with_universal_services_advice_and_a_signed_decision(broker: Broker) -> None:
    """A manager screens a contact blue (own Signs of Safety), it has no target time, cannot go
    to an enquiry, and closes with advice: a signed universal_services_advice decision and
    feedback for the referrer."""
    recorded = await broker.front_door.record_contact(record())
    with pytest.raises(InvalidScreening, match="Signs of Safety"):
        await broker.front_door.sanction(recorded.contact_id, actor=MANAGER, brag=Brag.BLUE)
    contact = await broker.front_door.sanction(recorded.contact_id, actor=MANAGER, brag=Brag.BLUE, rationale=SOS)
    assert contact.state is ContactState.SCREENED and contact.due is None
    with pytest.raises(ContactConflict, match="blue"):
        await broker.front_door.open_enquiry(recorded.contact_id, actor=MANAGER, consent=consent())
    with pytest.raises(InvalidContact, match="advice"):
        await broker.front_door.close_blue(recorded.contact_id, advice=" ", actor=MANAGER)
    decision = await broker.front_door.close_blue(
        recorded.contact_id, advice="Signposted to the school nurse drop-in and the Family Hub.", actor=MANAGER)
    assert decision.outcome is Outcome.UNIVERSAL_SERVICES_ADVICE and decision.summary_id is None
    view = await broker.front_door.read_decision(recorded.contact_id, actor=MANAGER, jwks=broker.signer.jwks())
    assert view.verified, view.problems
    closed = (await broker.front_door.read_contact(recorded.contact_id, actor=MANAGER)).contact
    assert closed.state is ContactState.CLOSED_UNIVERSAL and closed.universal_advice.startswith("Signposted")  # type: ignore[union-attr]
    feedback = await broker.front_door.read_feedback(recorded.contact_id, actor=OFFICER)
    assert feedback.outcome is Outcome.UNIVERSAL_SERVICES_ADVICE and feedback.due_at is not None


async def test_only_blue_closes_with_advice(broker: Broker) -> None:
    """An amber contact cannot be closed as universal services (re-rate it first, with a reason)."""
    contact_id = await screened(broker)
    with pytest.raises(ContactConflict, match="only a blue contact"):
        await broker.front_door.close_blue(contact_id, advice="Family Hub", actor=MANAGER)


async def test_the_enquiry_from_a_contact_checks_consent_again_and_records_each_check(broker: Broker) -> None:
    """Consent given when the contact came in, refused now without a lawful basis or approval:
    the enquiry is refused and the contact stays screened. Proceeding without consent with a
    reason, lawful basis and a different approving manager opens it, linked, at the sanctioned
    rating; both checks are recorded with the contact."""
    contact_id = await screened(broker, Brag.RED, consent=consent("given"))
    refused = await broker.front_door.open_enquiry(
        contact_id, actor=MANAGER, consent=consent("refused", family_informed="yes"))
    assert refused.enquiry_state is EnquiryState.REFUSED and not refused.consent_passed
    assert "lawful_basis" in (refused.refusal_reason or "")
    contact = (await broker.front_door.read_contact(contact_id, actor=MANAGER)).contact
    assert contact.state is ContactState.SCREENED and contact.enquiry_id is None
    with pytest.raises(Forbidden):
        await broker.front_door.open_enquiry(contact_id, actor=OFFICER, consent=consent())
    opened = await broker.front_door.open_enquiry(contact_id, actor=MANAGER, consent=consent(
        "not_sought", decided_by="test.manager", approved_by="test.manager2",
        reason="Telling the family could put the child at risk", lawful_basis="UK-GDPR-6(1)(e)",
        family_informed="deferred", family_informed_reason="risk of harm"))
    assert opened.enquiry_state is EnquiryState.DISPATCHED and opened.consent_passed
    contact = (await broker.front_door.read_contact(contact_id, actor=MANAGER)).contact
    assert contact.state is ContactState.ENQUIRY_OPENED and contact.enquiry_id == opened.enquiry_id
    assert [(c.passed, c.consent.status.value, c.enquiry_id) for c in contact.consent_checks] == [  # type: ignore[union-attr]
        (False, "refused", refused.enquiry_id), (True, "not_sought", opened.enquiry_id)]
    enquiry = await broker.views.enquiry(opened.enquiry_id)
    assert enquiry is not None and enquiry.brag is Brag.RED
    async with broker.uow() as uow:
        assert await uow.contacts.by_enquiry(opened.enquiry_id) == contact_id
    with pytest.raises(ContactConflict):
        await broker.front_door.open_enquiry(contact_id, actor=MANAGER, consent=consent())


async def summarised(broker: Broker, enquiry_id: str) -> str:
    async def probe() -> str | None:
        history = await broker.views.summaries(enquiry_id)
        return history[-1].jws if history else None
    return await eventually(probe)


async def test_decision_is_signed_on_the_summary_and_tampering_is_detected(broker: Broker) -> None:
    """The decision names the summary it was made on (id and SHA-256), verifies with the
    broker's JWKS, and a changed token or a changed record no longer verifies."""
    contact_id = await screened(broker, Brag.RED)
    opened = await broker.front_door.open_enquiry(contact_id, actor=MANAGER, consent=consent())
    summary_jws = await summarised(broker, opened.enquiry_id)
    with pytest.raises(Forbidden):
        await broker.front_door.record_decision(contact_id, outcome=Outcome.SECTION_47_STRATEGY_DISCUSSION,
                                                rationale="x", actor=OFFICER)
    decision = await broker.front_door.record_decision(
        contact_id, outcome=Outcome.SECTION_47_STRATEGY_DISCUSSION,
        rationale="Police and health findings show significant harm; strategy discussion today.", actor=MANAGER)
    assert decision.summary_sha256 == hashlib.sha256(summary_jws.encode()).hexdigest()
    assert decision.enquiry_id == opened.enquiry_id and decision.brag is Brag.RED
    view = await broker.front_door.read_decision(contact_id, actor=MANAGER, jwks=broker.signer.jwks())
    assert view.verified and view.payload["outcome"] == "section_47_strategy_discussion"
    assert view.payload["summary_id"] == decision.summary_id
    with pytest.raises(ContactConflict):
        await broker.front_door.record_decision(contact_id, outcome=Outcome.NO_FURTHER_ACTION,
                                                rationale="again", actor=MANAGER)

    header, payload, signature = view.jws.split(".")
    import base64
    forged_payload = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged_payload["outcome"] = "no_further_action"
    forged = ".".join([header, base64.urlsafe_b64encode(
        json.dumps(forged_payload, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("="), signature])
    did = decision.decision_id
    async with broker.engine.begin() as c:
        await c.execute(update(f.decisions).where(f.decisions.c.decision_id == did).values(
            jws=broker.cipher.seal_text(forged, context=f"decisions.jws:{did}")))
    tampered = await broker.front_door.read_decision(contact_id, actor=MANAGER, jwks=broker.signer.jwks())
    assert not tampered.verified and any("signature" in p for p in tampered.problems)

    async with broker.engine.begin() as c:
        await c.execute(update(f.decisions).where(f.decisions.c.decision_id == did).values(
            jws=broker.cipher.seal_text(view.jws, context=f"decisions.jws:{did}"), outcome="early_help"))
    edited = await broker.front_door.read_decision(contact_id, actor=MANAGER, jwks=broker.signer.jwks())
    assert not edited.verified and any("outcome" in p for p in edited.problems)


async def test_referrer_feedback_is_the_outcome_only(broker: Broker) -> None:
    """The feedback names the outcome and a fixed message: not the referrer, the child, the
    rationale or anything a partner shared; giving it is recorded once."""
    contact_id = await screened(broker, Brag.RED)
    opened = await broker.front_door.open_enquiry(contact_id, actor=MANAGER, consent=consent())
    await summarised(broker, opened.enquiry_id)
    rationale = "Police hold a MARAC referral and a high-risk DASH assessment."
    await broker.front_door.record_decision(contact_id, outcome=Outcome.SECTION_17_ASSESSMENT,
                                            rationale=rationale, actor=MANAGER)
    feedback = await broker.front_door.read_feedback(contact_id, actor=OFFICER)
    view = feedback.view()
    assert set(view) == {"contact_id", "outcome", "outcome_label", "message"}
    assert view["outcome"] == "section_17_assessment"
    text = json.dumps(view)
    enquiry = await broker.views.enquiry(opened.enquiry_id)
    assert enquiry is not None
    shared = [f.summary for r in enquiry.requests if r.reply for f in r.reply.findings]
    assert shared, "the partners shared findings, which the feedback must not carry"
    for secret in [REFERRER_NAME, "Ruby", "Ormstead", rationale, "MARAC", *shared]:
        assert secret not in text
    assert feedback.due_at is not None and feedback.overdue(feedback.due_at + dt.timedelta(seconds=1))
    given = await broker.front_door.feedback_given(contact_id, method="phone", actor=OFFICER)
    assert given.given_at is not None and not given.overdue(given.due_at + dt.timedelta(days=1))  # type: ignore[operator]
    with pytest.raises(ContactConflict, match="already"):
        await broker.front_door.feedback_given(contact_id, method="email", actor=OFFICER)


async def test_a_screened_contact_may_be_decided_without_an_enquiry(broker: Broker) -> None:
    """No further action straight from screening: signed, no summary named, feedback due."""
    contact_id = await screened(broker, Brag.GREEN)
    decision = await broker.front_door.record_decision(
        contact_id, outcome=Outcome.NO_FURTHER_ACTION, rationale="Concern already addressed by the school.",
        actor=MANAGER)
    assert decision.summary_id is None and decision.enquiry_id is None
    contact = (await broker.front_door.read_contact(contact_id, actor=MANAGER)).contact
    assert contact.state is ContactState.DECIDED and contact.met_timescale() is True
    assert (await broker.front_door.read_decision(contact_id, actor=AUDITOR, jwks=broker.signer.jwks())).verified


async def test_who_may_see_contacts(broker: Broker) -> None:
    """Officers and managers see the referrer; auditors the record without the referrer; a
    receiving service may not list (403) nor read (404) contacts, feedback or decisions."""
    recorded = await broker.front_door.record_contact(record())
    assert (await broker.front_door.read_contact(recorded.contact_id, actor=OFFICER)).referrer_visible
    assert not (await broker.front_door.read_contact(recorded.contact_id, actor=AUDITOR)).referrer_visible
    with pytest.raises(Forbidden):
        await broker.front_door.list_contacts(actor=SERVICE)
    with pytest.raises(NotVisible):
        await broker.front_door.read_contact(recorded.contact_id, actor=SERVICE)
    with pytest.raises(NotVisible):
        await broker.front_door.read_contact(recorded.contact_id, actor=KAI_WORKER)
    with pytest.raises(NotVisible):
        await broker.front_door.read_feedback(recorded.contact_id, actor=SERVICE)
    with pytest.raises(NotVisible):
        await broker.front_door.read_decision(recorded.contact_id, actor=SERVICE, jwks=broker.signer.jwks())
    with pytest.raises(Forbidden):
        await broker.front_door.record_contact(record(actor=SERVICE))
    listed = await broker.front_door.list_contacts(actor=AUDITOR)
    assert [r.contact_id for r in listed] == [recorded.contact_id]


async def test_the_queue_lists_state_rating_and_overdue_contacts(broker: Broker) -> None:
    """The list shows state, rating and due time; `overdue` picks the open contacts past due."""
    received = dt.datetime.now(dt.UTC) - dt.timedelta(days=5)
    late = await screened(broker, Brag.RED, received_at=received)
    fresh = await broker.front_door.record_contact(record())
    listed = {r.contact_id: r for r in await broker.front_door.list_contacts(actor=MANAGER)}
    assert listed[late].brag == "red" and listed[late].state == "screened"
    assert listed[late].overdue(dt.datetime.now(dt.UTC)) and not listed[fresh.contact_id].overdue(dt.datetime.now(dt.UTC))
    overdue = await broker.front_door.list_contacts(actor=MANAGER, overdue=True)
    assert [r.contact_id for r in overdue] == [late]
    assert [r.contact_id for r in await broker.front_door.list_contacts(actor=MANAGER, state="received")] == [
        fresh.contact_id]


async def test_personal_data_of_a_contact_is_sealed_at_rest(broker: Broker) -> None:
    """The referrer, the reason, the subjects and the Signs of Safety text are not readable in the table."""
    contact_id = await screened(broker)
    async with broker.engine.connect() as c:
        row = (await c.execute(select(f.contacts).where(f.contacts.c.contact_id == contact_id))).mappings().one()
    dump = json.dumps({k: str(v) for k, v in row.items()})
    for secret in (REFERRER_NAME, "Quillsby Primary", "bruising", "Ruby", "Ormstead", "grandmother"):
        assert secret not in dump
    assert row["referrer"].startswith("enc1:") and row["proposal_rationale"].startswith("enc1:")


async def test_recording_the_same_contact_twice_with_an_idempotency_key_records_it_once(broker: Broker) -> None:
    """A retried POST with the same key answers the first contact."""
    first = await broker.front_door.record_contact(record(idempotency_key="contact-abc"))
    second = await broker.front_door.record_contact(record(idempotency_key="contact-abc"))
    assert second.replayed and second.contact_id == first.contact_id
    assert await rows(broker, f.contacts) == 1


async def test_every_step_is_in_the_audit_log_without_personal_data(broker: Broker) -> None:
    """Recording, allocation check, proposal, sanction, re-rating, consent check, enquiry,
    decision and feedback are audit events naming the contact; no referrer, child or reason."""
    contact_id = await screened(broker, Brag.AMBER)
    await broker.front_door.rerate(contact_id, to=Brag.RED, reason="Ruby disclosed an assault by Kelly.",
                                   actor=MANAGER)
    opened = await broker.front_door.open_enquiry(contact_id, actor=MANAGER, consent=consent())
    await summarised(broker, opened.enquiry_id)
    await broker.front_door.record_decision(contact_id, outcome=Outcome.SECTION_47_STRATEGY_DISCUSSION,
                                            rationale="Strategy discussion for Ruby.", actor=MANAGER)
    wanted = ["contact.recorded", "contact.allocation_checked", "contact.proposed", "contact.sanctioned",
              "contact.rerated", "contact.consent_checked", "contact.enquiry_opened", "decision.recorded",
              "feedback.created"]

    async def probe() -> list[dict[str, object]] | None:
        events = [e for e in await broker.views.audit_events(after=-1, limit=1000)
                  if (e["details"] or {}).get("contact_id") == contact_id]
        return events if {e["action"] for e in events} >= set(wanted) else None

    events = await eventually(probe)
    assert [e["action"] for e in events if e["action"] in wanted] == wanted
    text = json.dumps(events, default=str)
    for secret in (REFERRER_NAME, "Ruby", "Kelly", "Ormstead", "bruising", "assault"):
        assert secret not in text
    linked = next(e for e in events if e["action"] == "contact.enquiry_opened")
    assert linked["enquiry_id"] == opened.enquiry_id and linked["actor"] == "test.manager"


async def test_a_broken_front_door_configuration_stops_the_broker_starting(workspace: DevWorkspace, sqlite_url: str,
                                                                           tmp_path: object) -> None:
    """An authority the configuration does not name is refused when the broker starts, not at
    the first contact."""
    from broker.domain.timescales import InvalidTimescale

    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url)
    settings.front_door.authority = "elsewhere"
    broker = build_broker(settings)
    with pytest.raises(InvalidTimescale, match="elsewhere"):
        await broker.start()
    await broker.engine.dispose()


async def test_an_enquiry_from_an_amber_contact_gives_partners_24_working_hours(broker: Broker) -> None:
    """The partners' deadline is the rating's timescale from the enquiry's opening on the
    authority's working calendar: never inside a weekend or after closing, never shorter than
    the wall-clock 24 hours."""
    contact_id = await screened(broker, Brag.AMBER)
    opened = await broker.front_door.open_enquiry(contact_id, actor=MANAGER, consent=consent())
    enquiry = await broker.views.enquiry(opened.enquiry_id)
    assert enquiry is not None
    authority = broker.front_door.authority
    expected = due_for_brag(enquiry.opened_at, Brag.AMBER, authority.timescales, authority.calendar)
    assert expected is not None and abs(enquiry.deadline_at - expected.at) < dt.timedelta(seconds=5)
    assert authority.calendar.within_working_hours(enquiry.deadline_at)
    assert enquiry.deadline_at - enquiry.opened_at >= dt.timedelta(hours=24)
