"""Per-partner RabbitMQ identities on the real RabbitMQ (own vhost, own users): a partner can
consume only its own queue and publish only replies; the broker rejects a reply whose
validated user_id is not the partner the request went to."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions
import pytest
import pytest_asyncio

from adapters.sdk.transport.topology import REPLY_ROUTING_KEY
from broker.adapters.dev_workspace import DevWorkspace
from broker.adapters.rabbitmq_access import (
    access_definitions,
    apply_definitions,
    broker_user,
    generate_passwords,
    partner_user,
)
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from tests.integration.helpers import eventually, open_scenario
from tests.integration.partner import PartnerDriver
from tests.services import rabbitmqctl

pytestmark = [pytest.mark.security, pytest.mark.integration]

REFUSED = (aio_pika.exceptions.AMQPError, aiormq.exceptions.AMQPError)


@pytest.fixture(name="identities")
def _identities(workspace: DevWorkspace) -> Iterator[dict]:
    """A vhost with the topology, a broker user and one user per partner, applied through
    `rabbitmqctl import_definitions`; users and vhost removed afterwards."""
    from adapters.sdk.transport.topology import Topology
    from broker.adapters.agreements_fs import DirectoryAgreements

    prefix = f"t{uuid.uuid4().hex[:8]}"
    vhost = f"mash-ids-{prefix}"
    topology = Topology(partners=DirectoryAgreements.load(workspace.agreements_dir).partner_ids())
    passwords = generate_passwords(topology, prefix)
    apply_definitions(access_definitions(topology, vhost=vhost, prefix=prefix, passwords=passwords))

    def url(user: str) -> str:
        return f"amqp://{user}:{passwords[user]}@127.0.0.1:5672/{vhost}"

    try:
        yield {"prefix": prefix, "vhost": vhost, "topology": topology, "url": url}
    finally:
        rabbitmqctl("delete_vhost", vhost)
        for user in passwords:
            rabbitmqctl("delete_user", user)


async def refusal(action) -> str:  # type: ignore[no-untyped-def]
    """The error RabbitMQ answered the action with ('' if it was allowed)."""
    try:
        await asyncio.wait_for(action(), timeout=10)
    except REFUSED as error:
        return repr(error)
    return ""


async def test_a_partner_user_reaches_only_its_own_queue_and_the_reply_exchange(identities: dict) -> None:
    """Police may read its own queue and publish replies, and nothing else: not health's queue,
    not the request or default exchange, no declaring or deleting queues."""
    topology = identities["topology"]
    police = identities["url"](partner_user(identities["prefix"], "police"))
    connection = await aio_pika.connect(police)
    async with connection:
        own = await (await connection.channel()).get_queue(topology.request_queue("police"), ensure=True)
        assert await own.get(fail=False) is None  # may read its own queue
        replies = await (await connection.channel(publisher_confirms=True)).get_exchange(topology.replies_exchange)
        await replies.publish(aio_pika.Message(b"{}", user_id=partner_user(identities["prefix"], "police")),
                              routing_key=REPLY_ROUTING_KEY)

        async def read_other() -> None:
            queue = await (await connection.channel()).get_queue(topology.request_queue("health"), ensure=False)
            await queue.get(fail=False)

        async def publish_request() -> None:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(topology.requests_exchange, ensure=False)
            await exchange.publish(aio_pika.Message(b"{}"), routing_key="health")

        async def publish_default() -> None:
            channel = await connection.channel(publisher_confirms=True)
            await channel.default_exchange.publish(
                aio_pika.Message(b"{}"), routing_key=topology.request_queue("health"))

        async def declare_queue() -> None:
            await (await connection.channel()).declare_queue(f"{topology.prefix}.sneaky", durable=True)

        async def delete_own_queue() -> None:
            await (await connection.channel()).queue_delete(topology.request_queue("police"))

        for action in (read_other, publish_request, publish_default, declare_queue, delete_own_queue):
            answer = await refusal(action)
            assert "ACCESS_REFUSED" in answer, (action.__name__, answer)


async def test_rabbitmq_refuses_a_reply_whose_user_id_is_not_the_connections(identities: dict) -> None:
    """A partner cannot stamp another partner's user_id: RabbitMQ closes the channel."""
    topology = identities["topology"]
    connection = await aio_pika.connect(identities["url"](partner_user(identities["prefix"], "police")))
    async with connection:
        async def impersonate() -> None:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(topology.replies_exchange)
            await exchange.publish(
                aio_pika.Message(b"{}", user_id=partner_user(identities["prefix"], "health")),
                routing_key=REPLY_ROUTING_KEY,
            )

        answer = await refusal(impersonate)
        assert "PRECONDITION_FAILED" in answer and "user_id" in answer, answer


@pytest_asyncio.fixture(name="broker")
async def _broker(identities: dict, workspace: DevWorkspace, pg_url: str) -> AsyncIterator[Broker]:
    settings = Settings(
        dev_dir=workspace.root, database_url=pg_url,
        amqp_url=identities["url"](broker_user(identities["prefix"])),
        amqp={"user_prefix": identities["prefix"], "require_user_id": True}, relay_poll_s=0.1,
    )
    broker = build_broker(settings)
    await broker.start()
    yield broker
    await broker.stop()


async def test_broker_rejects_a_reply_sent_by_another_partners_user(
    identities: dict, broker: Broker, workspace: DevWorkspace, tmp_path: Path
) -> None:
    """A correctly signed police reply published by the health user (its own, valid user_id)
    is rejected: the validated sender is not the partner the request went to. One published
    by the police user is recorded; one with no user_id is rejected when user ids are required."""
    prefix = identities["prefix"]
    opened = await open_scenario(broker)
    async with PartnerDriver(identities["url"](partner_user(prefix, "police")), workspace, broker.topology) as police:
        request = await police.take_request("police")
        body = police.envelope(police.reply_payload(request), signed_by="police")
    for user, stamp in (("health", True), ("police", False)):
        connection = await aio_pika.connect(identities["url"](partner_user(prefix, user)))
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(broker.topology.replies_exchange)
            await exchange.publish(
                aio_pika.Message(body, message_id=str(uuid.uuid4()),
                                 user_id=partner_user(prefix, user) if stamp else None),
                routing_key=REPLY_ROUTING_KEY,
            )
    reasons = await eventually(lambda: _reasons(broker, 2))
    assert any("not the partner this request went to" in r for r in reasons), reasons
    assert any("no validated user_id" in r for r in reasons), reasons
    connection = await aio_pika.connect(identities["url"](partner_user(prefix, "police")))
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(broker.topology.replies_exchange)
        await exchange.publish(aio_pika.Message(body, message_id=str(uuid.uuid4()),
                                                user_id=partner_user(prefix, "police")),
                               routing_key=REPLY_ROUTING_KEY)
    enquiry = await eventually(lambda: _replied(broker, opened.enquiry_id, "police"))
    assert enquiry


async def _reasons(broker: Broker, n: int):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from broker.adapters.db import tables as t

    async with broker.engine.connect() as c:
        rows = [r[0] for r in (await c.execute(select(t.rejected_messages.c.reason))).all()]
    return rows if len(rows) >= n else None


async def _replied(broker: Broker, enquiry_id: str, partner: str) -> bool:
    enquiry = await broker.views.enquiry(enquiry_id)
    return bool(enquiry and any(r.partner_id == partner and r.reply for r in enquiry.requests))


__all__ = ["json"]
