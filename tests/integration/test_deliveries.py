"""Downstream delivery on the real RabbitMQ (own vhost) and PostgreSQL (own database): a decision
gives each receiving service whose outcomes include it exactly its own signed view, on its own
queue; services acknowledge with signed receipts; forged receipts are refused and recorded;
unacknowledged views are re-sent and then shown undelivered."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import select

from broker.adapters.db import delivery_tables as d
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.domain.decision import Outcome
from tests.integration.delivery_helpers import (
    MASH_ONLY,
    MASH_ONLY_ATTENDANCE,
    closed_enquiry,
    contact_for,
    decision_on,
    assert_view_is_safe,
    publish_receipt,
    signed_receipt,
    take_service_view,
)
from tests.integration.helpers import count, eventually
from tests.integration.partner import PartnerDriver
from tests.services import queue_depths

pytestmark = pytest.mark.integration

SERVICES = ("childrens-social-care", "early-help", "supporting-families")


def make_settings(workspace: DevWorkspace, database_url: str, amqp_url: str, **delivery: object) -> Settings:
    return Settings(
        dev_dir=workspace.root, database_url=database_url, amqp_url=amqp_url,
        relay_poll_s=0.1, sweep_interval_s=0.2,
        delivery={"ack_timeout": dt.timedelta(seconds=60), "max_sends": 3, **delivery},
    )


@pytest_asyncio.fixture(name="broker")
async def _broker(workspace: DevWorkspace, pg_url: str, amqp_url: str) -> AsyncIterator[Broker]:
    broker = build_broker(make_settings(workspace, pg_url, amqp_url))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


@pytest_asyncio.fixture(name="partner")
async def _partner(broker: Broker, workspace: DevWorkspace, amqp_url: str) -> AsyncIterator[PartnerDriver]:
    async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
        yield partner


async def views_of(broker: Broker, decision_id: str) -> list:
    async with broker.uow() as uow:
        return await uow.deliveries.for_decision(decision_id)


async def test_decision_gives_the_right_service_exactly_its_safe_view(
    broker: Broker, partner: PartnerDriver, amqp_url: str
) -> None:
    """An Early Help decision puts exactly one view on early-help's own queue and nothing on the
    other services' queues; the view verifies against the broker's JWKS, names the summary and its
    SHA-256, and carries neither the referrer's identity nor any MASH-only finding."""
    enquiry_id, summary = await closed_enquiry(broker, partner)
    decision = decision_on(enquiry_id, summary, Outcome.EARLY_HELP)
    issued = await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
    assert len(issued) == 1

    jws, message = await take_service_view(amqp_url, "early-help")
    assert message.correlation_id == issued[0]
    payload = assert_view_is_safe(jws, broker.signer.jwks(), service_id="early-help")
    assert payload["view_id"] == issued[0] and payload["decision_outcome"] == "early_help"
    assert payload["summary_id"] == summary.summary_id
    assert payload["summary_sha256"] == decision.summary_sha256
    partners = {p["partner_id"]: p for p in payload["content"]["summary"]["partners"]}
    references = {f["source_reference"] for p in partners.values() for f in p["findings"]}
    assert references == {"ATT-1", "DA-7"}  # the safe ones only
    assert MASH_ONLY["source_reference"] not in jws and MASH_ONLY_ATTENDANCE["summary"] not in str(payload)
    assert partners["education"]["brag"] == {"rating": "amber"}  # rationale withheld with the findings
    assert "gate_decisions" not in payload["content"]["summary"]
    assert payload["content"]["decision"]["outcome"] == "early_help"
    assert "rationale" not in payload["content"]["decision"]  # it named the referrer

    depths = await eventually(lambda: _settled_depths(amqp_url))
    assert depths["mash.service.childrens-social-care.views"] == 0
    assert depths["mash.service.supporting-families.views"] == 0
    assert depths["mash.service.early-help.views"] == 0  # the one we took
    assert await count(broker, d.service_views) == 1


async def _settled_depths(amqp_url: str) -> dict[str, int] | None:
    depths = queue_depths(amqp_url)
    return depths if all(f"mash.service.{s}.views" in depths for s in SERVICES) else None


async def test_a_decision_no_service_receives_sends_nothing(broker: Broker, partner: PartnerDriver,
                                                            amqp_url: str) -> None:
    """No further action goes to no configured service: no view, no message on any service queue;
    a section 47 decision goes to children's social care only, and recording it twice issues once."""
    enquiry_id, summary = await closed_enquiry(broker, partner)
    nfa = decision_on(enquiry_id, summary, Outcome.NO_FURTHER_ACTION)
    assert await broker.deliveries.deliver_decision(nfa, contact_for(nfa)) == []  # type: ignore[union-attr]
    s47 = decision_on(enquiry_id, summary, Outcome.SECTION_47_STRATEGY_DISCUSSION)
    first = await broker.deliveries.deliver_decision(s47, contact_for(s47))  # type: ignore[union-attr]
    again = await broker.deliveries.deliver_decision(s47, contact_for(s47))  # type: ignore[union-attr]
    assert len(first) == 1 and again == []
    jws, _ = await take_service_view(amqp_url, "childrens-social-care")
    payload = assert_view_is_safe(jws, broker.signer.jwks(), service_id="childrens-social-care")
    assert payload["decision_outcome"] == "section_47_strategy_discussion"
    depths = queue_depths(amqp_url)
    assert depths["mash.service.early-help.views"] == 0 and depths["mash.service.supporting-families.views"] == 0
    assert [v.service_id for v in await views_of(broker, s47.decision_id)] == ["childrens-social-care"]


async def test_signed_receipt_acknowledges_and_forged_ones_are_refused_and_recorded(
    broker: Broker, partner: PartnerDriver, workspace: DevWorkspace, amqp_url: str
) -> None:
    """A receipt signed with the service's key marks its view acknowledged; one signed with another
    key, one from another service for this view, and one for an altered view are refused, recorded
    with their reasons and leave the status alone."""
    enquiry_id, summary = await closed_enquiry(broker, partner)
    decision = decision_on(enquiry_id, summary, Outcome.EARLY_HELP)
    [view_id] = await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
    jws, _ = await take_service_view(amqp_url, "early-help")

    await publish_receipt(amqp_url, signed_receipt(workspace, jws, service_id="early-help",
                                                   signed_by="supporting-families"))
    await publish_receipt(amqp_url, signed_receipt(workspace, jws, service_id="supporting-families"))
    await publish_receipt(amqp_url, signed_receipt(workspace, jws, service_id="early-help",
                                                   view_sha256="0" * 64))
    rejections = await eventually(lambda: _rejections(broker, 3))
    reasons = sorted(r["reason"] for r in rejections)
    assert any("does not verify with early-help's key" in r for r in reasons), reasons
    assert any(f"no view {view_id} was issued to supporting-families" in r for r in reasons), reasons
    assert any("view_sha256 does not match" in r for r in reasons), reasons
    [view] = await views_of(broker, decision.decision_id)
    assert view.status in ("pending", "delivered") and view.acknowledged_at is None

    await publish_receipt(amqp_url, signed_receipt(workspace, jws, service_id="early-help"))

    async def acknowledged() -> bool:
        return (await views_of(broker, decision.decision_id))[0].status == "acknowledged"

    await eventually(acknowledged)
    [view] = await views_of(broker, decision.decision_id)
    assert view.ack_channel == "amqp"
    audit = await broker.views.audit_events(after=-1, limit=1000)
    actions = [e["action"] for e in audit]
    assert actions.count("receipt.rejected") == 3 and actions.count("view.acknowledged") == 1


async def _rejections(broker: Broker, n: int) -> list[dict] | None:
    async with broker.engine.connect() as c:
        rows = (await c.execute(select(d.receipt_rejections))).mappings().all()
    return [dict(r) for r in rows] if len(rows) >= n else None


async def test_unacknowledged_view_is_resent_then_shown_undelivered(
    workspace: DevWorkspace, pg_url: str, amqp_url: str
) -> None:
    """A view with no receipt by its deadline is sent again (same view id and bytes) until the send
    limit, then shown undelivered with its send count; a late valid receipt still acknowledges it."""
    broker = build_broker(make_settings(workspace, pg_url, amqp_url,
                                        ack_timeout=dt.timedelta(seconds=1), max_sends=2))
    # The early-help sample asks for 4 h; this test's broker uses the setting instead.
    broker.deliveries.directory = type(broker.deliveries.directory)(  # type: ignore[union-attr]
        [_without_ack_within(s) for s in broker.deliveries.directory.all()])  # type: ignore[union-attr]
    await broker.start()
    try:
        async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
            enquiry_id, summary = await closed_enquiry(broker, partner)
        decision = decision_on(enquiry_id, summary, Outcome.SUPPORTING_FAMILIES)
        [view_id] = await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
        first, _ = await take_service_view(amqp_url, "supporting-families")
        second, message = await take_service_view(amqp_url, "supporting-families", timeout=10)
        assert second == first and message.correlation_id == view_id and message.headers["send"] == "2"

        async def undelivered() -> bool:
            return (await views_of(broker, decision.decision_id))[0].status == "undelivered"

        await eventually(undelivered, timeout=10)
        [view] = await views_of(broker, decision.decision_id)
        assert view.sends == 2 and view.undelivered_at is not None
        rows = await broker.deliveries.list_deliveries(_manager(), status="undelivered")  # type: ignore[union-attr]
        assert [r["view_id"] for r in rows] == [view_id] and rows[0]["overdue"] is True
        await publish_receipt(amqp_url, signed_receipt(workspace, first, service_id="supporting-families"))

        async def acknowledged() -> bool:
            return (await views_of(broker, decision.decision_id))[0].status == "acknowledged"

        await eventually(acknowledged)
    finally:
        await broker.stop()


def _without_ack_within(service):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(service, ack_within=None)


def _manager():  # type: ignore[no-untyped-def]
    from tests.integration.helpers import MANAGER

    return MANAGER


async def test_a_view_the_service_refuses_is_shown_undelivered_with_the_reason(
    broker: Broker, partner: PartnerDriver, amqp_url: str
) -> None:
    """A view the service's consumer rejects is dead-lettered by its queue, and the broker shows it
    undelivered at once with where and why (re-sending a refused view would not help)."""
    import aio_pika

    enquiry_id, summary = await closed_enquiry(broker, partner)
    decision = decision_on(enquiry_id, summary, Outcome.EARLY_HELP)
    [view_id] = await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        queue = await (await connection.channel()).get_queue("mash.service.early-help.views", ensure=True)
        message = await eventually(lambda: queue.get(no_ack=False, fail=False))
        await message.reject(requeue=False)

    async def undelivered() -> bool:
        return (await views_of(broker, decision.decision_id))[0].status == "undelivered"

    await eventually(undelivered)
    [view] = await views_of(broker, decision.decision_id)
    assert view.view_id == view_id
    assert view.undelivered_reason == "dead-lettered from mash.service.early-help.views: rejected"
    rows = await broker.deliveries.list_deliveries(_manager(), status="undelivered")  # type: ignore[union-attr]
    assert rows[0]["undelivered_reason"] == view.undelivered_reason
