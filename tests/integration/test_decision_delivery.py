"""The manager's real decision (front door use case) issues the receiving service's view in the
same transaction, on the real RabbitMQ and PostgreSQL: the contact's referrer never reaches it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from broker.adapters.db import delivery_tables as d
from broker.adapters.db import front_door_tables as f
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.domain.brag import Brag
from broker.domain.decision import Outcome
from tests.integration.delivery_helpers import (
    POLICE_SAFE,
    SAFE,
    MASH_ONLY,
    assert_service_received_view,
)
from tests.integration.front_door_helpers import MANAGER, OFFICER, REFERRER, REFERRER_NAME, SOS, consent, record
from tests.integration.helpers import eventually
from tests.integration.partner import PartnerDriver
from tests.integration.test_deliveries import make_settings
from tests.services import queue_depths

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(name="broker")
async def _broker(workspace: DevWorkspace, pg_url: str, amqp_url: str) -> AsyncIterator[Broker]:
    broker = build_broker(make_settings(workspace, pg_url, amqp_url))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def enquired_contact(broker: Broker, partner: PartnerDriver) -> str:
    """A screened amber contact whose enquiry every partner answered (a MASH-only finding included)."""
    recorded = await broker.front_door.record_contact(record())
    await broker.front_door.propose_brag(recorded.contact_id, Brag.AMBER, SOS, actor=OFFICER)
    await broker.front_door.sanction(recorded.contact_id, actor=MANAGER)
    opened = await broker.front_door.open_enquiry(recorded.contact_id, actor=MANAGER, consent=consent())
    assert opened.enquiry_state.value == "dispatched"
    requests = {p: await partner.take_request(p) for p in ("education", "health", "police")}
    await partner.send(partner.envelope(partner.reply_payload(requests["health"]), signed_by="health"))
    await partner.send(partner.envelope(partner.reply_payload(
        requests["police"], outcome="findings", findings=[POLICE_SAFE],
        brag={"rating": "amber", "rationale": "Domestic abuse"}), signed_by="police"))
    await partner.send(partner.envelope(partner.reply_payload(
        requests["education"], outcome="findings", findings=[SAFE, MASH_ONLY],
        brag={"rating": "amber", "rationale": "Absence"}), signed_by="education"))
    await eventually(lambda: broker.views.summaries(opened.enquiry_id))
    return recorded.contact_id


async def count(broker: Broker, table: object) -> int:
    async with broker.engine.connect() as c:
        return int((await c.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_recorded_decision_puts_the_services_view_on_its_queue_without_the_referrer(
    broker: Broker, workspace: DevWorkspace, amqp_url: str
) -> None:
    """Recording an Early Help decision through the front door commits the view with the decision;
    early-help's own queue gets it, it verifies and carries neither the referrer's name, phone nor
    e-mail (even though the rationale names the referrer); no other service gets anything."""
    async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
        contact_id = await enquired_contact(broker, partner)
    decision = await broker.front_door.record_decision(
        contact_id, outcome=Outcome.EARLY_HELP, actor=MANAGER,
        rationale=f"{REFERRER_NAME} (DSL) reports absence; family agrees to Early Help support.")
    async with broker.uow() as uow:
        [view] = await uow.deliveries.for_decision(decision.decision_id)
    assert view.service_id == "early-help" and view.contact_id == contact_id

    payload = await assert_service_received_view(
        amqp_url, "early-help", broker.signer.jwks(),
        referrer=(REFERRER_NAME, REFERRER.phone or "", REFERRER.email or ""))
    assert payload["decision_id"] == decision.decision_id and payload["view_id"] == view.view_id
    assert payload["summary_sha256"] == decision.summary_sha256
    assert payload["content"]["decision"]["decided_by"] == MANAGER.subject
    assert payload["content"]["contact"]["contact_id"] == contact_id
    depths = queue_depths(amqp_url)
    assert depths["mash.service.childrens-social-care.views"] == 0
    assert depths["mash.service.supporting-families.views"] == 0


async def test_a_decision_whose_views_cannot_be_issued_is_not_recorded(broker: Broker, workspace: DevWorkspace,
                                                                       amqp_url: str) -> None:
    """Same transaction: when issuing the views fails, the decision, its feedback and any view roll
    back together; nothing is sent; the contact can be decided again, and then is delivered."""
    async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
        contact_id = await enquired_contact(broker, partner)
    desk = broker.deliveries
    assert desk is not None

    async def issue_then_fail(uow, decision, contact):  # type: ignore[no-untyped-def]
        await desk.issue_views(uow, decision, contact)
        raise RuntimeError("signing service unavailable")

    failing = dataclasses.replace(broker.front_door, on_decided=issue_then_fail)
    with pytest.raises(RuntimeError):
        await failing.record_decision(contact_id, outcome=Outcome.SECTION_17_ASSESSMENT,
                                      rationale="Child in need assessment.", actor=MANAGER)
    assert await count(broker, f.decisions) == 0 and await count(broker, d.service_views) == 0
    decision = await broker.front_door.record_decision(contact_id, outcome=Outcome.SECTION_17_ASSESSMENT,
                                                       rationale="Child in need assessment.", actor=MANAGER)
    payload = await assert_service_received_view(amqp_url, "childrens-social-care", broker.signer.jwks())
    assert payload["decision_id"] == decision.decision_id
    assert await count(broker, d.service_views) == 1
