"""Helpers for the transport and adapter-runtime tests: a real message 'server' of either kind
(an InProcessBus, or a RabbitMQ vhost of the test's own) with started clients, handlers that keep
what they are given, partner requests built and signed by the broker's own code, and the partner
reply opened the way the broker opens it (the signature checked against the agreement's key)."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import aio_pika
import pytest

from adapters.sdk.messages import REPLY_JWS_TYP, REPLY_TYPE, Answer, PartnerReply
from adapters.sdk.messages import PartnerRequest as WireRequest
from adapters.sdk.signing import import_public_jwk, verify
from adapters.sdk.transport.amqp import AmqpTransport
from adapters.sdk.transport.base import (
    Handler,
    IncomingMessage,
    OutgoingMessage,
    Transport,
    Verdict,
)
from adapters.sdk.transport.inprocess import InProcessBus, InProcessTransport
from adapters.sdk.transport.topology import Topology
from agreements.loader import load_directory
from broker.adapters.dev_workspace import DevWorkspace
from broker.adapters.signing import BrokerSigner
from broker.domain.brag import Brag
from broker.domain.enquiry import Enquiry, EnquiryState, RequestStatus
from broker.domain.enquiry import PartnerRequest as DomainRequest
from broker.domain.subject import Subject
from broker.service.requests import request_messages

T = TypeVar("T")

KINDS = [
    pytest.param("inprocess", id="inprocess"),
    pytest.param("amqp", id="amqp", marks=pytest.mark.integration),
]

PURPOSE = "mash-safeguarding-enquiry"
POLICE_CATEGORIES = ("police.incidents", "police.domestic_abuse", "police.marac")


# --------------------------------------------------------------------------- waiting


async def until(
    probe: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 20.0,
    every: float = 0.05,
    what: str = "",
) -> T:
    """Poll `probe` (sync or async) until it returns something truthy; fail after `timeout` s."""
    loop = asyncio.get_running_loop()
    stop = loop.time() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if loop.time() >= stop:
            raise AssertionError(f"not within {timeout} s: {what or probe} (last value {value!r})")
        await asyncio.sleep(every)


# --------------------------------------------------------------------------- the wire


class Wire:
    """One message server (an InProcessBus or a RabbitMQ vhost) and the clients started on it."""

    def __init__(self, kind: str, topology: Topology, amqp_url: str | None) -> None:
        assert kind in ("inprocess", "amqp")
        assert kind == "inprocess" or amqp_url is not None
        self.kind = kind
        self.topology = topology
        self.amqp_url = amqp_url
        self.bus = InProcessBus(topology) if kind == "inprocess" else None
        self._clients: list[Transport] = []
        self._inspector: aio_pika.abc.AbstractConnection | None = None
        self._inspector_channel: aio_pika.abc.AbstractChannel | None = None

    @property
    def vhost(self) -> str:
        assert self.amqp_url is not None
        return self.amqp_url.rsplit("/", 1)[1]

    async def client(self, *, declare: bool = True, name: str = "test") -> Transport:
        """A started transport. On RabbitMQ the first client should declare (the broker's role);
        `declare=False` is a partner adapter's, which only finds what exists."""
        transport: Transport
        if self.bus is not None:
            transport = InProcessTransport(self.bus)
        else:
            assert self.amqp_url is not None
            transport = AmqpTransport(
                self.amqp_url,
                self.topology,
                declare=declare,
                publish_timeout_s=10.0,
                connection_name=f"mash-test-{name}",
            )
        await transport.start()
        self._clients.append(transport)
        return transport

    async def depth(self, queue: str) -> int:
        """Messages ready in `queue`, exactly (a passive declare on RabbitMQ, whose
        `rabbitmqctl list_queues` figures for quorum queues lag by seconds)."""
        if self.bus is not None:
            return self.bus.depth(queue)
        if self._inspector_channel is None:
            assert self.amqp_url is not None
            self._inspector = await aio_pika.connect(self.amqp_url)
            self._inspector_channel = await self._inspector.channel()
        declared = await self._inspector_channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)

    async def close(self) -> None:
        for transport in reversed(self._clients):
            await transport.close()
        self._clients.clear()
        if self._inspector is not None:
            await self._inspector.close()
            self._inspector = None
            self._inspector_channel = None


def death_reason(message: IncomingMessage) -> str | None:
    """Why a message was dead-lettered, as either transport says it (the IncomingMessage field
    where the transport sets one, else the headers)."""
    reason = getattr(message, "death_reason", None)
    if reason is not None:
        return str(reason)
    headers = message.headers
    if "x-death-reason" in headers:  # InProcessTransport
        return str(headers["x-death-reason"])
    deaths = headers.get("x-death")  # RabbitMQ
    if isinstance(deaths, list) and deaths:
        return str(deaths[0]["reason"])
    return None


# --------------------------------------------------------------------------- handlers


@dataclass
class Inbox:
    """A consumer that keeps every delivery and answers each with `verdict`."""

    verdict: Verdict = field(default_factory=Verdict.ack)
    messages: list[IncomingMessage] = field(default_factory=list)

    async def __call__(self, message: IncomingMessage) -> Verdict:
        self.messages.append(message)
        return self.verdict

    async def wait_for(self, n: int, *, timeout: float = 20.0) -> list[IncomingMessage]:
        await until(lambda: len(self.messages) >= n, timeout=timeout, what=f"{n} deliveries")
        return list(self.messages)


@dataclass
class Recorded:
    """Wraps a handler; keeps each delivery with the verdict it got or the exception it raised."""

    handler: Handler
    outcomes: list[tuple[IncomingMessage, Verdict | Exception]] = field(default_factory=list)

    async def __call__(self, message: IncomingMessage) -> Verdict:
        try:
            verdict = await self.handler(message)
        except Exception as error:
            self.outcomes.append((message, error))
            raise
        self.outcomes.append((message, verdict))
        return verdict

    def verdicts(self) -> list[Verdict | Exception]:
        return [v for _, v in self.outcomes]

    async def wait_for(self, n: int, *, timeout: float = 20.0) -> list[Verdict | Exception]:
        await until(
            lambda: len(self.outcomes) >= n, timeout=timeout, what=f"{n} handled deliveries"
        )
        return self.verdicts()


@dataclass
class PartnerSearch:
    """A partner's search function (the port a partner implements): it counts its calls and
    answers with `answer`, or raises for the first `failures` calls."""

    answer: Answer | Callable[[WireRequest], Answer] = field(default_factory=Answer.no_trace)
    failures: float = 0
    calls: list[WireRequest] = field(default_factory=list)
    before: Callable[[WireRequest], None] | None = None

    async def __call__(self, request: WireRequest) -> Answer:
        self.calls.append(request)
        if self.before is not None:
            self.before(request)
        await asyncio.sleep(0.01)  # a real search does I/O
        if len(self.calls) <= self.failures:
            raise RuntimeError("the records system is unavailable")
        return self.answer(request) if callable(self.answer) else self.answer


# --------------------------------------------------------------------------- broker requests


def broker_signer(workspace: DevWorkspace) -> BrokerSigner:
    return BrokerSigner.from_file(workspace.broker_key, None)


@dataclass(frozen=True)
class SentRequest:
    message: OutgoingMessage
    request_id: str
    enquiry_id: str
    categories: tuple[str, ...]


def partner_request(
    signer: BrokerSigner,
    *,
    partner_id: str = "police",
    categories: tuple[str, ...] = POLICE_CATEGORIES,
    agreement: tuple[str, str] = ("mash-tier2", "3.0"),
    issued_at: dt.datetime | None = None,
    deadline_at: dt.datetime | None = None,
) -> SentRequest:
    """One signed request message exactly as the broker makes it (`request_messages`), for an
    enquiry about one child asking one partner."""
    now = dt.datetime.now(dt.UTC)
    issued_at = issued_at or now
    deadline_at = deadline_at or issued_at + dt.timedelta(hours=24)
    child = Subject.create(
        subject_ref="S1",
        role="child",
        given_name="Amelia",
        family_name="Testfield",
        date_of_birth=dt.date(2016, 5, 4),
        sex="female",
        address="1 Test Street",
        postcode="GU1 1AA",
    )
    request_id = str(uuid.uuid4())
    enquiry = Enquiry(
        enquiry_id=str(uuid.uuid4()),
        purpose=PURPOSE,
        brag=Brag.AMBER,
        subjects=(child,),
        consent=None,
        opened_by="test",
        opened_at=issued_at,
        deadline_at=deadline_at,
        state=EnquiryState.DISPATCHED,
        requests=[
            DomainRequest(
                request_id=request_id,
                partner_id=partner_id,
                partner_name=partner_id.title(),
                status=RequestStatus.PENDING,
                categories=categories,
                agreement_id=agreement[0],
                agreement_version=agreement[1],
            )
        ],
    )
    (message,) = request_messages(
        enquiry, signer=signer, issued_at=issued_at, new_id=lambda: str(uuid.uuid4())
    )
    return SentRequest(message, request_id, enquiry.enquiry_id, categories)


def with_message_id(message: OutgoingMessage, message_id: str | None = None) -> OutgoingMessage:
    return replace(message, message_id=message_id or str(uuid.uuid4()))


def envelope(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


# --------------------------------------------------------------------------- partner replies


def open_reply(workspace: DevWorkspace, body: bytes, partner_id: str = "police") -> PartnerReply:
    """The reply envelope checked and its JWS verified with the partner key the agreement names."""
    document = json.loads(body)
    assert document["v"] == 1 and document["type"] == REPLY_TYPE, document
    (party,) = [
        p
        for a in load_directory(workspace.agreements_dir)
        if a.agreement_id == "mash-tier2"
        for p in a.parties
        if p.partner_id == partner_id
    ]
    payload = verify(document["jws"], import_public_jwk(party.public_jwk), typ=REPLY_JWS_TYP)
    return PartnerReply.model_validate(payload)
