"""RabbitMQ through aio-pika: durable quorum queues, publisher confirms, manual acks.

Robust connections reconnect by themselves and restore consumers; we keep strong
references to queues and consumer tags because aio-pika restores only objects
still alive (aio-pika #536).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions
import pamqp.commands
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustChannel, AbstractRobustConnection

from adapters.sdk.transport.base import (
    Disposition,
    Handler,
    IncomingMessage,
    OutgoingMessage,
    PublishRefused,
)
from adapters.sdk.transport.topology import Topology

log = structlog.get_logger("mash.amqp")

_TRANSIENT = (
    aio_pika.exceptions.AMQPError,
    aiormq.exceptions.AMQPError,
    asyncio.TimeoutError,
    ConnectionError,
    RuntimeError,
)


class AmqpTransport:
    """One robust connection with a publishing channel and a consuming channel.

    `declare=True` (the broker) declares the whole topology; `declare=False`
    (a partner adapter, whose RabbitMQ user may not configure anything) only
    checks passively that its queue and the reply exchange exist.
    """

    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        declare: bool,
        prefetch: int = 64,
        publish_timeout_s: float = 10.0,
        connection_name: str = "mash",
    ) -> None:
        self._url = url
        self._topology = topology
        self._declare = declare
        self._prefetch = prefetch
        self._publish_timeout_s = publish_timeout_s
        self._connection_name = connection_name
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._consume_channel: AbstractRobustChannel | None = None
        self._exchanges: dict[str, aio_pika.abc.AbstractExchange] = {}
        self._queues: list[Any] = []  # strong references, see module docstring
        self._consumer_tags: list[str] = []

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": self._connection_name}
        )
        self._publish_channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._consume_channel = await self._connection.channel()
        await self._consume_channel.set_qos(prefetch_count=self._prefetch)
        if self._declare:
            await self._declare_topology()

    async def _declare_topology(self) -> None:
        assert self._connection is not None
        # A dedicated channel: a PRECONDITION_FAILED on declare closes only this one.
        channel = await self._connection.channel()
        try:
            for name, kind in self._topology.exchanges():
                await channel.declare_exchange(name, aio_pika.ExchangeType(kind), durable=True)
            for queue_name, exchange, key, arguments in self._topology.queues():
                queue = await channel.declare_queue(queue_name, durable=True, arguments=arguments)
                await queue.bind(exchange, routing_key=key)
        finally:
            await channel.close()

    async def _exchange(self, logical: str) -> aio_pika.abc.AbstractExchange:
        name = self._topology.exchange_name(logical)
        exchange = self._exchanges.get(name)
        if exchange is None:
            assert self._publish_channel is not None
            exchange = await self._publish_channel.get_exchange(name, ensure=True)
            self._exchanges[name] = exchange
        return exchange

    async def publish(self, message: OutgoingMessage) -> None:
        if self._publish_channel is None:
            raise PublishRefused("transport not started")
        amqp_message = aio_pika.Message(
            body=message.body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.message_type,
            headers=dict(message.headers),
            expiration=message.expiration_s,
            user_id=message.user_id,
        )
        try:
            exchange = await self._exchange(message.exchange)
            await exchange.publish(
                amqp_message,
                routing_key=message.routing_key,
                mandatory=True,
                timeout=self._publish_timeout_s,
            )
        except aio_pika.exceptions.DeliveryError as error:
            returned = isinstance(error.frame, pamqp.commands.Basic.Return)
            raise PublishRefused(
                f"{'unroutable' if returned else 'refused by the queue'}: {error}",
                kind="unroutable" if returned else "full",
            ) from error
        except _TRANSIENT as error:
            raise PublishRefused(f"{type(error).__name__}: {error}") from error

    async def consume(self, queue: str, handler: Handler) -> None:
        assert self._consume_channel is not None
        amqp_queue = await self._consume_channel.get_queue(queue, ensure=True)
        self._queues.append(amqp_queue)

        async def on_message(message: AbstractIncomingMessage) -> None:
            headers = dict(message.headers or {})
            incoming = IncomingMessage(
                body=message.body,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                message_type=message.type,
                headers=headers,
                user_id=message.user_id,
                redelivered=bool(message.redelivered),
                death_reason=_text(headers.get("x-first-death-reason")),
                death_queue=_text(headers.get("x-first-death-queue")),
            )
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(
                queue=queue, message_id=message.message_id, correlation_id=message.correlation_id
            )
            try:
                verdict = await handler(incoming)
            except Exception:  # a bug must not kill the consumer; the delivery limit bounds it
                log.exception("handler_failed")
                await _settle(message, Disposition.RETRY)
                return
            if verdict.disposition is not Disposition.ACK:
                log.info("message_not_acked", disposition=verdict.disposition.value, reason=verdict.reason)
            await _settle(message, verdict.disposition)

        tag = await amqp_queue.consume(on_message, no_ack=False)
        self._consumer_tags.append(tag)

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed and bool(
            self._connection.connected.is_set()
        )

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return None if value is None else str(value)


async def _settle(message: AbstractIncomingMessage, disposition: Disposition) -> None:
    try:
        if disposition is Disposition.ACK:
            await message.ack()
        elif disposition is Disposition.REJECT:
            await message.reject(requeue=False)
        else:
            await message.nack(requeue=True)
    except _TRANSIENT:
        # The channel went away; RabbitMQ redelivers the unacknowledged message,
        # and the handler is idempotent, so nothing is lost or done twice.
        log.warning("settle_failed", message_id=message.message_id, disposition=disposition.value)
