"""The timeliness report over the front door, on SQLite and PostgreSQL: contacts recorded,
screened and decided through the broker (one through an enquiry the embedded partners
answer), counted against the due times their BRAG gave, and each rater's BRAG set against
the outcome."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from broker.bootstrap import Broker, build_broker
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.domain.access import Forbidden, Principal
from broker.domain.brag import Brag
from broker.domain.decision import Outcome
from broker.domain.timeliness import Period
from tests.integration.front_door_helpers import AUDITOR, MANAGER, OFFICER, SERVICE, SOS, consent, record
from tests.integration.helpers import eventually


@pytest.fixture(name="broker", params=["sqlite", "postgresql"])
async def _broker(request: pytest.FixtureRequest, workspace: DevWorkspace) -> AsyncIterator[Broker]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    broker = build_broker(Settings(dev_dir=workspace.root, database_url=url, relay_poll_s=0.05,
                                   sweep_interval_s=0.2))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def screened(broker: Broker, brag: Brag, *, received_at: dt.datetime | None = None) -> str:
    recorded = await broker.front_door.record_contact(record(received_at=received_at))
    await broker.front_door.propose_brag(recorded.contact_id, brag, SOS, actor=OFFICER)
    await broker.front_door.sanction(recorded.contact_id, actor=MANAGER)
    return recorded.contact_id


async def summarised(broker: Broker, enquiry_id: str) -> None:
    async def probe() -> bool:
        return bool(await broker.views.summaries(enquiry_id))
    await eventually(probe)


async def test_decisions_are_timed_against_their_due_times_and_ratings_set_against_outcomes(broker: Broker) -> None:
    """A red contact decided straight after its enquiry's summary meets its timescale; an amber
    contact received ten days ago misses it; a blue contact closed with advice counts as decided
    on the usual route. Each partner's own BRAG from its signed reply is set against the s47
    outcome of the red case."""
    now = dt.datetime.now(dt.UTC)
    red = await screened(broker, Brag.RED)
    opened = await broker.front_door.open_enquiry(red, actor=MANAGER, consent=consent())
    await summarised(broker, opened.enquiry_id)
    await broker.front_door.record_decision(
        red, outcome=Outcome.SECTION_47_STRATEGY_DISCUSSION, rationale="Strategy discussion today.", actor=MANAGER)

    amber = await screened(broker, Brag.AMBER, received_at=now - dt.timedelta(days=10))
    await broker.front_door.record_decision(
        amber, outcome=Outcome.EARLY_HELP, rationale="Family accepts Early Help.", actor=MANAGER)

    blue = await screened(broker, Brag.BLUE)
    await broker.front_door.close_blue(blue, advice="Universal services: school nurse drop-in.", actor=MANAGER)

    report = await broker.timeliness_report(AUDITOR, Period(now - dt.timedelta(days=1), None))

    assert report.decision_timeliness(Brag.RED).met == 1
    assert report.decision_timeliness(Brag.AMBER).missed == 1
    amber_hours = report.decision_timeliness(Brag.AMBER).median_hours
    assert amber_hours is not None and amber_hours >= 240
    overall = report.decision_timeliness(None)
    assert overall.decided == 3
    # Blue has no timescale (no target): decided, neither met nor missed.
    assert report.decision_timeliness(Brag.BLUE).decided == 1
    assert overall.met + overall.missed == 2

    mash = report.rating("mash")
    assert mash is not None
    assert mash.counts[Brag.RED] == {Outcome.SECTION_47_STRATEGY_DISCUSSION.value: 1}
    assert mash.counts[Brag.AMBER] == {Outcome.EARLY_HELP.value: 1}
    assert mash.counts[Brag.BLUE] == {Outcome.UNIVERSAL_SERVICES_ADVICE.value: 1}
    assert (mash.compared, mash.on_usual_route) == (3, 2)  # amber to Early Help is off the usual route

    enquiry = await broker.views.enquiry(opened.enquiry_id)
    assert enquiry is not None
    rated = {r.partner_id: r.reply.brag for r in enquiry.requests if r.reply is not None and r.reply.brag}
    assert rated, "the scenario's partners rate the case"
    for partner_id, brag in rated.items():
        rating = report.rating(partner_id)
        assert rating is not None
        assert rating.counts[brag] == {Outcome.SECTION_47_STRATEGY_DISCUSSION.value: 1}
        assert rating.on_usual_route == (1 if brag is Brag.RED else 0)

    # The enquiry opened from the red contact is counted by state, and once in the MASH's ratings;
    # ratings count by the contact's receipt, so the amber one (ten days ago) is outside the period.
    assert report.enquiries_total == 1
    assert mash.distribution == {Brag.BLUE: 1, Brag.GREEN: 0, Brag.AMBER: 0, Brag.RED: 1}


async def test_a_period_before_the_decisions_counts_none_of_them(broker: Broker) -> None:
    """Decisions are counted in the period they were made: a period that ended yesterday has none."""
    contact = await screened(broker, Brag.BLUE)
    await broker.front_door.close_blue(contact, advice="Universal services.", actor=MANAGER)
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    earlier = await broker.timeliness_report(MANAGER, Period(None, yesterday))
    assert earlier.decision_timeliness(None).decided == 0
    later = await broker.timeliness_report(MANAGER, Period(yesterday, None))
    assert later.decision_timeliness(None).decided == 1


@pytest.mark.parametrize("actor", [OFFICER, SERVICE, Principal(subject="root", roles=frozenset({"admin"}))],
                         ids=["screening_officer", "service", "admin"])
async def test_only_managers_and_auditors_may_read_the_report(broker: Broker, actor: Principal) -> None:
    """The use case refuses anyone but a manager or an auditor, before reading anything."""
    with pytest.raises(Forbidden):
        await broker.timeliness_report(actor, Period())
