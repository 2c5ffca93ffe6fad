"""The transport contract, on both implementations: InProcessTransport over an InProcessBus, and
AmqpTransport on the real RabbitMQ in a vhost of the test's own. Where the behaviour is shared the
test is parametrised over both; RabbitMQ is the reference the in-process transport promises
to match."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.sdk.transport.amqp import AmqpTransport
from adapters.sdk.transport.base import IncomingMessage, OutgoingMessage, PublishRefused, Verdict
from adapters.sdk.transport.topology import REPLY_ROUTING_KEY, Topology
from tests.integration.runtime_helpers import KINDS, Inbox, Wire, death_reason, until
from tests.services import rabbitmqctl

PARTNERS = ("police", "health")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(name="kind_url", params=KINDS)
def _kind_url(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """Which transport, and for RabbitMQ a fresh vhost (only created when needed)."""
    if request.param == "amqp":
        return "amqp", request.getfixturevalue("amqp_url")
    return "inprocess", None


@pytest_asyncio.fixture(name="make_wire")
async def _make_wire(kind_url: tuple[str, str | None]) -> AsyncIterator[Callable[[Topology], Wire]]:
    kind, url = kind_url
    wires: list[Wire] = []

    def make(topology: Topology) -> Wire:
        assert not wires, "one topology per test: a vhost cannot hold two argument sets"
        wires.append(Wire(kind, topology, url))
        return wires[-1]

    try:
        yield make
    finally:
        for wire in wires:
            await wire.close()


def request(n: int | str, *, routing_key: str = "police", **changes: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "exchange": "requests",
        "routing_key": routing_key,
        "body": f"request {n}".encode(),
        "message_id": f"m-{n}-{uuid.uuid4().hex[:8]}",
        "correlation_id": f"c-{n}",
        "message_type": "mash.partner-request",
        "headers": {"enquiry_id": f"e-{n}", "partner_id": routing_key},
    }
    fields.update(changes)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def ids(messages: list[IncomingMessage]) -> list[str | None]:
    return [m.message_id for m in messages]


async def test_publish_then_consume_delivers_everything_intact(
    make_wire: Callable[[Topology], Wire],
) -> None:
    """A published message reaches its queue's consumer with body bytes, message_id,
    correlation_id, type and headers unchanged, not flagged as redelivered."""
    topology = Topology(partners=PARTNERS)
    wire = make_wire(topology)
    transport = await wire.client()
    body = b'{"v": 1, "bytes": "\xc2\xa3 \x00\xff"}' + bytes(range(256))
    sent = OutgoingMessage(
        exchange="requests",
        routing_key="health",
        body=body,
        message_id="msg-1a2b",
        correlation_id="req-77",
        message_type="mash.partner-request",
        headers={"enquiry_id": "enq-9", "partner_id": "health", "note": "héllo"},
    )
    reply = request("r", routing_key=REPLY_ROUTING_KEY, exchange="replies")
    inbox, replies, police = Inbox(), Inbox(), Inbox()
    await transport.consume(topology.request_queue("health"), inbox)
    await transport.consume(topology.replies_queue, replies)
    await transport.consume(topology.request_queue("police"), police)
    await transport.publish(sent)
    await transport.publish(reply)

    (got,) = await inbox.wait_for(1)
    assert got.body == body
    assert (got.message_id, got.correlation_id, got.message_type) == (
        "msg-1a2b",
        "req-77",
        "mash.partner-request",
    )
    assert got.headers == {"enquiry_id": "enq-9", "partner_id": "health", "note": "héllo"}
    assert got.redelivered is False
    (got_reply,) = await replies.wait_for(1)
    assert (got_reply.body, got_reply.message_id) == (reply.body, reply.message_id)
    await asyncio.sleep(0.2)
    assert police.messages == [] and len(inbox.messages) == 1  # routed by key, delivered once


async def test_unroutable_publish_is_refused(make_wire: Callable[[Topology], Wire]) -> None:
    """A publish whose routing key reaches no queue raises PublishRefused and enqueues nothing."""
    topology = Topology(partners=PARTNERS)
    wire = make_wire(topology)
    transport = await wire.client()
    with pytest.raises(PublishRefused):
        await transport.publish(request(1, routing_key="probation"))
    with pytest.raises(PublishRefused):
        await transport.publish(request(2, routing_key="broker"))  # the replies key, on requests
    for queue, _, _, _ in topology.queues():
        assert await wire.depth(queue) == 0, queue
    await transport.publish(request(3))  # the transport is still usable
    assert await until(lambda: wire.depth(topology.request_queue("police"))) == 1


async def test_reject_dead_letters_the_message(make_wire: Callable[[Topology], Wire]) -> None:
    """A REJECT verdict moves the message, unchanged, to the dead-letter queue with reason
    'rejected'; it is not delivered again."""
    topology = Topology(partners=PARTNERS)
    wire = make_wire(topology)
    transport = await wire.client()
    work, dead = Inbox(Verdict.reject("cannot be processed")), Inbox()
    await transport.consume(topology.request_queue("police"), work)
    await transport.consume(topology.dead_letter_queue, dead)
    sent = request(1)
    await transport.publish(sent)

    (letter,) = await dead.wait_for(1)
    assert (letter.body, letter.message_id, letter.correlation_id) == (
        sent.body,
        sent.message_id,
        "c-1",
    )
    assert death_reason(letter) == "rejected"
    await asyncio.sleep(0.3)
    assert len(work.messages) == 1 and len(dead.messages) == 1
    assert await wire.depth(topology.request_queue("police")) == 0


async def test_retry_redelivers_until_the_delivery_limit_then_dead_letters(
    make_wire: Callable[[Topology], Wire],
) -> None:
    """A RETRY verdict redelivers the message flagged redelivered, and once it has been
    returned more than `delivery_limit` times (RabbitMQ's x-delivery-limit: 2 means 1 delivery +
    2 redeliveries) it is dead-lettered with reason 'delivery_limit'."""
    topology = Topology(partners=PARTNERS, delivery_limit=2)
    wire = make_wire(topology)
    transport = await wire.client()
    work, dead = Inbox(Verdict.retry("transient")), Inbox()
    await transport.consume(topology.request_queue("police"), work)
    await transport.consume(topology.dead_letter_queue, dead)
    sent = request(1)
    await transport.publish(sent)

    (letter,) = await dead.wait_for(1, timeout=60)
    assert letter.message_id == sent.message_id and death_reason(letter) == "delivery_limit"
    await asyncio.sleep(0.5)
    assert ids(work.messages) == [sent.message_id] * (topology.delivery_limit + 1)
    assert [m.redelivered for m in work.messages] == [False] + [True] * topology.delivery_limit
    assert len(dead.messages) == 1


async def test_a_handler_that_raises_does_not_stop_the_consumer(
    make_wire: Callable[[Topology], Wire],
) -> None:
    """A handler exception is treated as RETRY (bounded by the delivery limit, then
    dead-lettered) and the consumer goes on delivering the messages that follow."""
    topology = Topology(partners=PARTNERS, delivery_limit=2)
    wire = make_wire(topology)
    transport = await wire.client()
    seen: list[IncomingMessage] = []

    async def handler(message: IncomingMessage) -> Verdict:
        seen.append(message)
        if message.body == b"boom":
            raise ValueError("a bug in the handler")
        return Verdict.ack()

    dead = Inbox()
    await transport.consume(topology.request_queue("police"), handler)
    await transport.consume(topology.dead_letter_queue, dead)
    boom = request("boom", body=b"boom")
    await transport.publish(boom)
    await transport.publish(request(1))
    await transport.publish(request(2))

    (letter,) = await dead.wait_for(1, timeout=60)
    assert letter.message_id == boom.message_id and death_reason(letter) == "delivery_limit"
    later = request(3)
    await transport.publish(later)
    await until(
        lambda: later.message_id in ids(seen), what="the message published after the failures"
    )
    assert {m.body for m in seen if m.body != b"boom"} == {b"request 1", b"request 2", b"request 3"}
    assert sum(m.body == b"boom" for m in seen) >= 2  # retried, not dropped at the first failure


async def test_a_message_in_flight_when_its_consumer_closes_is_delivered_again(
    make_wire: Callable[[Topology], Wire],
) -> None:
    """A message still being handled (not yet settled) when the consumer's transport closes is
    not lost: the next consumer of the queue receives it, flagged redelivered."""
    topology = Topology(partners=PARTNERS)
    wire = make_wire(topology)
    broker = await wire.client(name="broker")
    first = await wire.client(declare=False, name="first")
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(message: IncomingMessage) -> Verdict:
        started.set()
        await release.wait()
        return Verdict.ack()

    await first.consume(topology.request_queue("police"), slow)
    sent = request(1)
    await broker.publish(sent)
    await asyncio.wait_for(started.wait(), timeout=20)
    await first.close()  # the adapter stops mid-message
    release.set()

    second = await wire.client(declare=False, name="second")
    inbox = Inbox()
    await second.consume(topology.request_queue("police"), inbox)
    (again,) = await inbox.wait_for(1, timeout=10)
    assert again.message_id == sent.message_id and again.redelivered is True


async def test_a_message_that_expires_before_it_is_consumed_is_dead_lettered(
    make_wire: Callable[[Topology], Wire],
) -> None:
    """A message whose expiration passes while it waits in the queue goes to the dead-letter
    queue and is never delivered to the consumer."""
    topology = Topology(partners=PARTNERS)
    wire = make_wire(topology)
    transport = await wire.client()
    stale = request("stale", expiration_s=0.2)
    await transport.publish(stale)
    await asyncio.sleep(0.8)
    inbox = Inbox()
    await transport.consume(topology.request_queue("police"), inbox)
    fresh = request("fresh")
    await transport.publish(fresh)

    await until(
        lambda: wire.depth(topology.dead_letter_queue), timeout=30, what="the expired letter"
    )
    await inbox.wait_for(1)
    await asyncio.sleep(0.3)
    assert ids(inbox.messages) == [fresh.message_id]
    assert await wire.depth(topology.dead_letter_queue) == 1
    assert await wire.depth(topology.request_queue("police")) == 0


async def read_expired_dead_letter(kind: str, amqp_url: str) -> list[str | None]:
    """Scenario for the test below, run in a child process: a message expires in its queue and
    is then read from the dead-letter queue some time later. Returns the reasons read."""
    topology = Topology(partners=PARTNERS)
    wire = Wire(kind, topology, amqp_url or None)
    try:
        transport = await wire.client()
        await transport.publish(request("stale", expiration_s=0.1))
        await asyncio.sleep(0.4)
        await transport.consume(topology.request_queue("police"), Inbox())
        await until(lambda: wire.depth(topology.dead_letter_queue), timeout=10)
        await asyncio.sleep(0.3)  # well past the original expiration
        dead = Inbox()
        await transport.consume(topology.dead_letter_queue, dead)
        await dead.wait_for(1, timeout=10)
        return [death_reason(m) for m in dead.messages]
    finally:
        await wire.close()


async def test_an_expired_dead_letter_can_still_be_read_from_the_dead_letter_queue(
    kind_url: tuple[str, str | None],
) -> None:
    """A dead-lettered message loses its expiration (RabbitMQ moves it to x-death's
    original-expiration), so a consumer of the dead-letter queue receives it; reading it never
    wedges the consumer. Run in a child process so that a transport that spins is killed, not
    waited on."""
    kind, url = kind_url
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import asyncio, json, sys\n"
        "from tests.integration.test_transports import read_expired_dead_letter\n"
        "print(json.dumps(asyncio.run(read_expired_dead_letter(sys.argv[1], sys.argv[2]))))\n",
        kind,
        url or "",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout=20)
    except TimeoutError:
        child.kill()
        await child.wait()
        pytest.fail(
            f"{kind}: reading the dead-letter queue did not finish within 20 s (the consumer spins)"
        )
    assert child.returncode == 0, err.decode()[-3000:]
    assert json.loads(out.decode().strip().splitlines()[-1]) == ["expired"]


async def test_a_full_queue_refuses_the_publish(
    make_wire: Callable[[Topology], Wire], kind_url: tuple[str, str | None]
) -> None:
    """With nothing consuming, a queue at its x-max-length refuses further publishes with
    PublishRefused (reject-publish back-pressure, never dropping): in-process the third of
    max_length=2; RabbitMQ 3.10's quorum queue lets one more in (it blocks once messages_ready
    exceeds the limit), so there it is the fourth. Refused messages are never delivered."""
    topology = Topology(partners=PARTNERS, queue_max_length=2)
    wire = make_wire(topology)
    transport = await wire.client()
    accepted, refused = [], []
    for n in range(1, 6):
        message = request(n)
        try:
            await transport.publish(message)
            accepted.append(message.message_id)
        except PublishRefused:
            refused.append(message.message_id)
    expected = {"inprocess": 2, "amqp": 3}[kind_url[0]]
    assert len(accepted) == expected and len(refused) == 5 - expected
    assert await wire.depth(topology.request_queue("police")) == expected

    inbox = Inbox()
    await transport.consume(topology.request_queue("police"), inbox)
    await inbox.wait_for(expected)

    async def accepted_again() -> bool:  # the back-pressure lifts once the queue drains
        try:
            await transport.publish(later)
        except PublishRefused:
            return False
        return True

    later = request("later")
    await until(accepted_again, timeout=20, every=0.2, what="a publish accepted after draining")
    await inbox.wait_for(expected + 1)
    await asyncio.sleep(0.3)
    assert ids(inbox.messages) == [*accepted, later.message_id]


def test_definitions_list_every_exchange_queue_and_binding() -> None:
    """`Topology.definitions()` names every exchange, every queue with its quorum, delivery-limit,
    at-least-once dead-lettering and reject-publish arguments, and every binding."""
    topology = Topology(
        partners=("police", "health", "education"), delivery_limit=7, queue_max_length=50
    )
    definitions = topology.definitions(vhost="v1")
    assert definitions["vhosts"] == [{"name": "v1"}]
    assert {(e["name"], e["type"], e["durable"], e["vhost"]) for e in definitions["exchanges"]} == {
        ("mash.requests", "direct", True, "v1"),
        ("mash.replies", "direct", True, "v1"),
        ("mash.dlx", "fanout", True, "v1"),
    }
    queues = {q["name"]: q for q in definitions["queues"]}
    work = {f"mash.partner.{p}.requests" for p in ("police", "health", "education")} | {
        "mash.broker.replies"
    }
    assert set(queues) == work | {"mash.broker.dead"}
    for name in work:
        assert queues[name]["durable"] is True and queues[name]["auto_delete"] is False
        assert queues[name]["arguments"] == {
            "x-queue-type": "quorum",
            "x-delivery-limit": 7,
            "x-dead-letter-exchange": "mash.dlx",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-max-length": 50,
        }, name
    assert queues["mash.broker.dead"]["arguments"] == {
        "x-queue-type": "quorum",
        "x-overflow": "reject-publish",
        "x-max-length": 50,
    }
    assert {
        (b["source"], b["destination"], b["routing_key"], b["destination_type"])
        for b in definitions["bindings"]
    } == {
        ("mash.requests", "mash.partner.police.requests", "police", "queue"),
        ("mash.requests", "mash.partner.health.requests", "health", "queue"),
        ("mash.requests", "mash.partner.education.requests", "education", "queue"),
        ("mash.replies", "mash.broker.replies", "broker", "queue"),
        ("mash.dlx", "mash.broker.dead", "", "queue"),
    }
    json.dumps(definitions)  # importable as JSON


def _listing(vhost: str, what: str, *columns: str) -> list[dict[str, object]]:
    return json.loads(rabbitmqctl(what, "-p", vhost, *columns, "--formatter", "json"))


@pytest.mark.integration
async def test_declared_topology_on_rabbitmq_matches_the_definitions(amqp_url: str) -> None:
    """What `AmqpTransport(declare=True)` declares on RabbitMQ (as `rabbitmqctl` lists it) is
    exactly `Topology.definitions()`: the same queues with the same arguments, exchanges and
    bindings; declaring again is a no-op, and a partner's passive transport finds its queue."""
    topology = Topology(
        partners=("police", "health", "education"), delivery_limit=3, queue_max_length=500
    )
    vhost = amqp_url.rsplit("/", 1)[1]
    definitions = topology.definitions(vhost=vhost)
    broker = AmqpTransport(amqp_url, topology, declare=True)
    await broker.start()
    try:
        queues = {
            q["name"]: (q["durable"], {k: v for k, _, v in q["arguments"]})  # type: ignore[misc]
            for q in _listing(vhost, "list_queues", "name", "durable", "arguments")
        }
        assert queues == {q["name"]: (True, q["arguments"]) for q in definitions["queues"]}
        exchanges = {
            (e["name"], e["type"], e["durable"])
            for e in _listing(vhost, "list_exchanges", "name", "type", "durable")
            if str(e["name"]).startswith("mash.")
        }
        assert exchanges == {(e["name"], e["type"], True) for e in definitions["exchanges"]}
        bindings = {
            (b["source_name"], b["destination_name"], b["routing_key"])
            for b in _listing(
                vhost, "list_bindings", "source_name", "destination_name", "routing_key"
            )
            if b["source_name"]  # not the default exchange's implicit bindings
        }
        assert bindings == {
            (b["source"], b["destination"], b["routing_key"]) for b in definitions["bindings"]
        }

        again = AmqpTransport(amqp_url, topology, declare=True)
        partner = AmqpTransport(
            amqp_url, Topology(partners=("police",), delivery_limit=3), declare=False
        )
        await again.start()
        await partner.start()
        try:
            inbox = Inbox()
            await partner.consume(topology.request_queue("police"), inbox)
            await broker.publish(request(1))
            await inbox.wait_for(1)
        finally:
            await partner.close()
            await again.close()
    finally:
        await broker.close()
