"""The broker on the real RabbitMQ (own vhost) and PostgreSQL (own database): gates, fan-out,
reply verification, deadlines. Partners here are driven by the test over the real queues."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from adapters.sdk.transport.topology import Topology
from broker.adapters.db import tables as t
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.entrypoints.verification import verify_summary
from broker.service.summaries import SUMMARY_JWS_TYP
from adapters.sdk.signing import key_set, verify
from tests.integration.helpers import count, eventually, open_scenario
from tests.integration.partner import PartnerDriver
from tests.services import queue_depths

pytestmark = pytest.mark.integration

ASKED = ("education", "health", "police")


@pytest_asyncio.fixture(name="broker")
async def _broker(workspace: DevWorkspace, pg_url: str, amqp_url: str) -> AsyncIterator[Broker]:
    settings = Settings(
        dev_dir=workspace.root,
        database_url=pg_url,
        amqp_url=amqp_url,
        relay_poll_s=0.1,
        sweep_interval_s=0.2,
        timescales={"red": dt.timedelta(seconds=4)},
    )
    broker = build_broker(settings)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


@pytest_asyncio.fixture(name="partner")
async def _partner(broker: Broker, workspace: DevWorkspace, amqp_url: str) -> AsyncIterator[PartnerDriver]:
    async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
        yield partner


def summary_payload(broker: Broker, jws: str) -> dict:
    return verify(jws, key_set(broker.signer.jwks()["keys"]), typ=SUMMARY_JWS_TYP)


async def test_refused_gate_publishes_nothing(broker: Broker, amqp_url: str) -> None:
    """An enquiry with no consent decision is recorded as refused and no message reaches RabbitMQ."""
    opened = await open_scenario(broker, consent=None)
    assert opened.state.value == "refused"
    assert "no consent decision" in (opened.refusal_reason or "")
    await broker.relay.run_once()  # type: ignore[union-attr]
    assert await count(broker, t.outbox) == 0
    depths = queue_depths(amqp_url)
    assert depths and all(n == 0 for n in depths.values()), depths
    enquiry = await broker.views.enquiry(opened.enquiry_id)
    assert enquiry is not None and [g.passed for g in enquiry.gate_outcomes] == [False]


async def test_not_sought_without_approving_manager_is_refused(broker: Broker) -> None:
    """Consent not sought proceeds only with an approving manager; without one nothing is sent."""
    from broker.entrypoints.demo import scenario_enquiry

    consent = scenario_enquiry()["consent"] | {"approved_by": None}
    opened = await open_scenario(broker, consent=consent)
    assert opened.state.value == "refused"
    assert "approved_by" in (opened.refusal_reason or "")
    assert await count(broker, t.outbox) == 0


async def test_full_enquiry_completes_with_verifiable_summary(
    broker: Broker, partner: PartnerDriver, workspace: DevWorkspace, tmp_path
) -> None:
    """Every asked partner replying completes the enquiry with one signed summary whose partner
    replies verify against the agreement keys; partners outside an agreement in force are not_asked."""
    opened = await open_scenario(broker)
    requests = {p: await partner.take_request(p) for p in ASKED}
    for request in requests.values():
        assert set(request.categories) <= {c for c in request.categories if c.startswith(request.partner_id + ".")}
    await partner.send(partner.envelope(partner.reply_payload(requests["police"]), signed_by="police"))
    await partner.send(partner.envelope(
        partner.reply_payload(requests["health"], outcome="declined",
                              declined_reason="Records sealed by court order; contact the DPO"),
        signed_by="health"))
    finding = {
        "category": "education.attendance", "date": "2026-10-01",
        "summary": "Attendance 71% this term", "source_system": "School MIS",
        "source_reference": "ATT-1", "sos_domain": "worry", "dissemination": "summary_safe",
        "match": {"subject_ref": "S1", "method": "identifier", "identifier_type": "upn", "confidence": 1.0},
    }
    await partner.send(partner.envelope(
        partner.reply_payload(requests["education"], outcome="findings", findings=[finding],
                              brag={"rating": "amber", "rationale": "Persistent absence"}),
        signed_by="education"))

    history = await eventually(lambda: broker.views.summaries(opened.enquiry_id))
    assert len(history) == 1
    payload = summary_payload(broker, history[0].jws)
    outcomes = {p["partner_id"]: p["outcome"] for p in payload["partners"]}
    assert outcomes == {"education": "findings", "health": "declined", "police": "no_trace",
                        "housing": "not_asked", "probation": "not_asked"}
    assert payload["completion"] == "all_replied" and payload["suggested_brag"] == "amber"
    jwks = tmp_path / "jwks.json"
    import json

    jwks.write_text(json.dumps(broker.signer.jwks()))
    report = verify_summary(history[0].jws, str(jwks), workspace.agreements_dir)
    assert report["verified"], report
    assert set(report["partner_replies"]) == set(ASKED)


async def test_replies_recorded_at_the_same_moment_close_the_enquiry_exactly_once(
    broker: Broker, partner: PartnerDriver
) -> None:
    """Three replies to one enquiry recorded concurrently on PostgreSQL: each waits for the
    enquiry's row lock and then sees what the one before it wrote, so the last closes the
    enquiry, exactly one summary is issued, and none is lost."""
    import asyncio
    import uuid

    from adapters.sdk.transport.base import IncomingMessage

    for _ in range(8):
        opened = await open_scenario(broker)
        requests = {p: await partner.take_request(p) for p in ASKED}
        messages = [
            IncomingMessage(
                body=partner.envelope(partner.reply_payload(requests[p]), signed_by=p),
                message_id=str(uuid.uuid4()), correlation_id=None, message_type=None, headers={},
                user_id=None, redelivered=False,
            )
            for p in ASKED
        ]
        results = await asyncio.gather(*(broker.record_reply(m) for m in messages))
        assert [r.outcome for r in results] == ["recorded"] * 3
        assert sorted(r.summary_version or 0 for r in results) == [0, 0, 1]
        enquiry = await broker.views.enquiry(opened.enquiry_id)
        assert enquiry is not None and enquiry.state.value == "complete"
        assert [s.version for s in await broker.views.summaries(opened.enquiry_id)] == [1]


async def test_bad_replies_are_rejected_recorded_and_dead_lettered(
    broker: Broker, partner: PartnerDriver, amqp_url: str
) -> None:
    """Malformed JSON, a forged signature, an unknown request, a partner not asked and a reply
    that breaks the schema are each rejected with a reason, recorded once and dead-lettered; the
    consumer keeps going and none of them changes the enquiry or its summary."""
    opened = await open_scenario(broker)
    requests = {p: await partner.take_request(p) for p in ASKED}
    enquiry = await broker.views.enquiry(opened.enquiry_id)
    assert enquiry is not None
    housing = next(r for r in enquiry.requests if r.partner_id == "housing")

    forged = partner.reply_payload(requests["police"])
    unknown = partner.reply_payload(requests["police"]) | {"request_id": "00000000-0000-4000-8000-000000000000"}
    not_asked = partner.reply_payload(requests["police"]) | {"request_id": housing.request_id, "partner_id": "housing"}
    bad_schema = partner.reply_payload(requests["police"], outcome="findings")  # findings need a brag
    bad = [
        (b"{not json", "malformed envelope"),
        (partner.envelope(forged, signed_by="health"), "partner signature"),
        (partner.envelope(unknown, signed_by="police"), "never sent"),
        (partner.envelope(not_asked, signed_by="police"), "was not asked"),
        (partner.envelope(bad_schema, signed_by="police"), "reply schema"),
    ]
    for body, _ in bad:
        await partner.send(body)
    await eventually(lambda: count(broker, t.rejected_messages), timeout=20)
    reasons = await eventually(
        lambda: _reasons_when(broker, len(bad)), timeout=20
    )
    # Replies are handled concurrently, so match reasons without relying on order.
    for _, expected in bad:
        assert sum(expected in reason for reason in reasons) == 1, (expected, reasons)
    # Each went through the dead-letter queue, which the broker drains: already recorded,
    # so the rejection is not counted twice.
    assert await eventually(lambda: _dead_letters_drained(amqp_url, broker.topology))
    assert await count(broker, t.rejected_messages) == len(bad)
    still = await broker.views.enquiry(opened.enquiry_id)
    assert still is not None and still.state.value == "dispatched"
    assert all(r.reply is None for r in still.requests)

    for p in ASKED:
        await partner.send(partner.envelope(partner.reply_payload(requests[p]), signed_by=p))
    history = await eventually(lambda: broker.views.summaries(opened.enquiry_id))
    for body, _ in bad:
        await partner.send(body)
    await eventually(lambda: _reasons_when(broker, 2 * len(bad)), timeout=20)
    after = await broker.views.summaries(opened.enquiry_id)
    assert [s.jws for s in after] == [s.jws for s in history]


async def _reasons_when(broker: Broker, n: int) -> list[str] | None:
    from sqlalchemy import select

    async with broker.engine.connect() as c:
        rows = (await c.execute(select(t.rejected_messages.c.reason).order_by(t.rejected_messages.c.id))).all()
    return [r[0] for r in rows] if len(rows) >= n else None


async def _dead_letters_drained(amqp_url: str, topology: Topology) -> bool:
    return queue_depths(amqp_url).get(topology.dead_letter_queue, -1) == 0


async def test_duplicate_replies_change_nothing(broker: Broker, partner: PartnerDriver) -> None:
    """The same reply delivered again (same or new message id) is recorded once and issues one summary."""
    opened = await open_scenario(broker)
    requests = {p: await partner.take_request(p) for p in ASKED}
    bodies = {p: partner.envelope(partner.reply_payload(requests[p]), signed_by=p) for p in ASKED}
    await partner.send(bodies["police"], message_id="m-1")
    await partner.send(bodies["police"], message_id="m-1")
    await partner.send(bodies["police"], message_id="m-2")
    for p in ("health", "education"):
        await partner.send(bodies[p])
        await partner.send(bodies[p])
    await eventually(lambda: broker.views.summaries(opened.enquiry_id))
    await partner.send(bodies["police"])
    enquiry = await eventually(lambda: broker.views.enquiry(opened.enquiry_id))
    assert enquiry.state.value == "complete"
    assert len(await broker.views.summaries(opened.enquiry_id)) == 1
    assert await count(broker, t.rejected_messages) == 0


async def test_silent_partner_makes_enquiry_partial_then_late_reply_supersedes(
    broker: Broker, partner: PartnerDriver
) -> None:
    """A partner that never answers is no_reply when the deadline passes and the enquiry is
    partial; its late reply is kept and issues summary version 2, which supersedes version 1."""
    opened = await open_scenario(broker, brag="red")  # 4 s timescale in this fixture
    requests = {p: await partner.take_request(p) for p in ASKED}
    for p in ("police", "health"):
        await partner.send(partner.envelope(partner.reply_payload(requests[p]), signed_by=p))
    history = await eventually(lambda: broker.views.summaries(opened.enquiry_id), timeout=20)
    first = summary_payload(broker, history[0].jws)
    assert first["completion"] == "deadline" and first["state"] == "partial"
    assert {p["partner_id"]: p["outcome"] for p in first["partners"]}["education"] == "no_reply"

    await partner.send(partner.envelope(partner.reply_payload(requests["education"]), signed_by="education"))
    history = await eventually(
        lambda: _versions(broker, opened.enquiry_id, 2), timeout=20
    )
    second = summary_payload(broker, history[1].jws)
    assert second["version"] == 2 and second["supersedes"] == history[0].summary_id
    assert second["late_replies"] == ["education"]
    education = next(p for p in second["partners"] if p["partner_id"] == "education")
    assert education["outcome"] == "no_trace" and education["late"] is True


async def _versions(broker: Broker, enquiry_id: str, n: int):
    history = await broker.views.summaries(enquiry_id)
    return history if len(history) >= n else None
