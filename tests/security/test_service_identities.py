"""Per-service RabbitMQ identities on the real RabbitMQ (own vhost, own users): a receiving service
reads only its own views queue and publishes only receipts; with user ids required, the broker
accepts a receipt only from the service's own user."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import pytest
import pytest_asyncio

from adapters.sdk.transport.topology import Topology
from agreements.recipients import load_recipients
from broker.adapters.agreements_fs import DirectoryAgreements
from broker.adapters.dev_workspace import DevWorkspace
from broker.adapters.rabbitmq_access import (
    access_definitions,
    apply_definitions,
    broker_user,
    generate_passwords,
    partner_user,
    service_user,
)
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.domain.decision import Outcome
from tests.integration.delivery_helpers import (
    contact_for,
    decision_on,
    signed_receipt,
    take_service_view,
)
from tests.integration.helpers import eventually
from tests.security.test_rabbitmq_identities import refusal
from tests.services import rabbitmqctl

pytestmark = [pytest.mark.security, pytest.mark.integration]


@pytest.fixture(name="identities")
def _identities(workspace: DevWorkspace) -> Iterator[dict]:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    vhost = f"mash-svc-{prefix}"
    topology = Topology(
        partners=DirectoryAgreements.load(workspace.agreements_dir).partner_ids(),
        services=tuple(sorted(s.service_id for s in load_recipients(workspace.recipients_dir))),
    )
    passwords = generate_passwords(topology, prefix)
    apply_definitions(access_definitions(topology, vhost=vhost, prefix=prefix, passwords=passwords))

    def url(user: str) -> str:
        return f"amqp://{user}:{passwords[user]}@127.0.0.1:5672/{vhost}"

    try:
        yield {"prefix": prefix, "topology": topology, "url": url}
    finally:
        rabbitmqctl("delete_vhost", vhost)
        for user in passwords:
            rabbitmqctl("delete_user", user)


async def test_a_service_user_reads_only_its_own_views_and_publishes_only_receipts(identities: dict) -> None:
    """early-help may read its own views queue and publish receipts; it may not read another
    service's views or a partner's requests, publish views or requests, or declare queues."""
    topology: Topology = identities["topology"]
    user = service_user(identities["prefix"], "early-help")
    connection = await aio_pika.connect(identities["url"](user))
    async with connection:
        own = await (await connection.channel()).get_queue(topology.service_queue("early-help"), ensure=True)
        assert await own.get(fail=False) is None
        receipts = await (await connection.channel(publisher_confirms=True)).get_exchange(topology.receipts_exchange)
        await receipts.publish(aio_pika.Message(b"{}", user_id=user), routing_key="broker")

        async def read_queue(name: str) -> None:
            queue = await (await connection.channel()).get_queue(name, ensure=False)
            await queue.get(fail=False)

        async def read_other_service() -> None:
            await read_queue(topology.service_queue("supporting-families"))

        async def read_partner_requests() -> None:
            await read_queue(topology.request_queue("police"))

        async def read_receipts() -> None:
            await read_queue(topology.receipts_queue)

        async def publish_view() -> None:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(topology.deliveries_exchange, ensure=False)
            await exchange.publish(aio_pika.Message(b"{}"), routing_key="supporting-families")

        async def publish_reply() -> None:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(topology.replies_exchange, ensure=False)
            await exchange.publish(aio_pika.Message(b"{}"), routing_key="broker")

        async def declare_queue() -> None:
            await (await connection.channel()).declare_queue(f"{topology.prefix}.sneaky", durable=True)

        for action in (read_other_service, read_partner_requests, read_receipts, publish_view,
                       publish_reply, declare_queue):
            answer = await refusal(action)
            assert "ACCESS_REFUSED" in answer, (action.__name__, answer)
    # and a partner cannot read a service's views
    connection = await aio_pika.connect(identities["url"](partner_user(identities["prefix"], "police")))
    async with connection:
        async def partner_reads_views() -> None:
            queue = await (await connection.channel()).get_queue(topology.service_queue("early-help"), ensure=False)
            await queue.get(fail=False)

        assert "ACCESS_REFUSED" in await refusal(partner_reads_views)


@pytest_asyncio.fixture(name="broker")
async def _broker(identities: dict, workspace: DevWorkspace, pg_url: str) -> AsyncIterator[Broker]:
    settings = Settings(
        dev_dir=workspace.root, database_url=pg_url,
        amqp_url=identities["url"](broker_user(identities["prefix"])),
        amqp={"user_prefix": identities["prefix"], "require_user_id": True}, relay_poll_s=0.1,
        sweep_interval_s=0.2,
    )
    broker = build_broker(settings)
    await broker.start()
    yield broker
    await broker.stop()


async def test_broker_takes_a_receipt_only_from_the_services_own_user(
    identities: dict, broker: Broker, workspace: DevWorkspace
) -> None:
    """A receipt correctly signed with early-help's key but published by the supporting-families
    user is refused (the validated sender is not the service it names), and one with no user id
    too; the same receipt from the early-help user acknowledges the view."""
    prefix = identities["prefix"]
    url = identities["url"]
    # A decision on a screened contact, without an enquiry: the view carries decision and contact.
    decision = dataclasses.replace(decision_on("e", _Summary(), Outcome.EARLY_HELP),
                                   enquiry_id=None, summary_id=None, summary_sha256=None)
    await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
    jws, _ = await take_service_view(url(service_user(prefix, "early-help")), "early-help")
    token = signed_receipt(workspace, jws, service_id="early-help")
    body = ('{"v":1,"type":"mash.service-receipt","jws":"%s"}' % token).encode()
    for sender, stamp in (("supporting-families", True), ("supporting-families", False), ("early-help", True)):
        user = service_user(prefix, sender)
        connection = await aio_pika.connect(url(user))
        async with connection:
            exchange = await (await connection.channel(publisher_confirms=True)).get_exchange(
                broker.topology.receipts_exchange)
            await exchange.publish(aio_pika.Message(body, message_id=str(uuid.uuid4()),
                                                    user_id=user if stamp else None), routing_key="broker")
        if sender == "supporting-families" and stamp:
            await eventually(lambda: _rejected(broker, 1))

    async def acknowledged() -> bool:
        async with broker.uow() as uow:
            return (await uow.deliveries.for_decision(decision.decision_id))[0].status == "acknowledged"

    await eventually(acknowledged)
    rejected = await _rejected(broker, 2)
    assert rejected is not None
    reasons = [r["reason"] for r in rejected]
    assert any("sent by ['supporting-families'], but names service early-help" in r for r in reasons), reasons
    assert any("sent by nobody known" in r for r in reasons), reasons


async def _rejected(broker: Broker, n: int) -> list[dict] | None:
    async with broker.uow() as uow:
        rows = await uow.deliveries.receipt_rejections()
    return rows if len(rows) >= n else None


class _Summary:
    summary_id = "none"
    jws = "none"
