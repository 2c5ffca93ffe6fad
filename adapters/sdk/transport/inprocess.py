"""The embedded transport: the AMQP contract inside one process.

Same bytes, ids and verdicts as RabbitMQ: a publish is routed by the same
topology (unroutable raises, like `mandatory`), a full queue refuses the publish,
a REJECT or a delivery over the limit is dead-lettered, an expired message is
dead-lettered instead of delivered. It keeps nothing across a restart: the
database outbox is what makes the embedded broker lose nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import structlog

from adapters.sdk.transport.base import (
    Disposition,
    Handler,
    IncomingMessage,
    OutgoingMessage,
    PublishRefused,
)
from adapters.sdk.transport.topology import Topology

log = structlog.get_logger("mash.inprocess")


@dataclass(slots=True)
class _Envelope:
    message: OutgoingMessage
    expires_at: float | None
    deliveries: int = 0
    death_reason: str | None = None
    death_queue: str | None = None


@dataclass(slots=True)
class _Queue:
    name: str
    items: asyncio.Queue[_Envelope] = field(default_factory=asyncio.Queue)


class InProcessBus:
    """The shared 'server': queues and routing. One per process."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self._queues = {name: _Queue(name) for name, _, _, _ in topology.queues()}
        self._routes = {(ex, key): q for q, ex, key, _ in topology.queues()}

    def queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise PublishRefused(f"no queue {name}") from None

    def depth(self, name: str) -> int:
        return self.queue(name).items.qsize()

    def route(self, message: OutgoingMessage) -> None:
        exchange = self.topology.exchange_name(message.exchange)
        queue_name = self._routes.get((exchange, message.routing_key))
        if queue_name is None:
            raise PublishRefused(f"unroutable: {exchange} / {message.routing_key}", kind="unroutable")
        self._enqueue(queue_name, _Envelope(message, _expiry(message.expiration_s)))

    def _enqueue(self, queue_name: str, envelope: _Envelope) -> None:
        queue = self.queue(queue_name)
        if queue.items.qsize() >= self.topology.queue_max_length:
            raise PublishRefused(f"queue {queue_name} is full (reject-publish)", kind="full")
        queue.items.put_nowait(envelope)

    def dead_letter(self, envelope: _Envelope, reason: str, queue: str) -> None:
        if envelope.death_reason is None:  # like x-first-death-*: the first death counts
            envelope.death_reason = reason
            envelope.death_queue = queue
        envelope.deliveries = 0
        envelope.expires_at = None  # as RabbitMQ: a dead letter does not expire again
        try:
            self._enqueue(self.topology.dead_letter_queue, envelope)
        except PublishRefused:
            log.error("dead_letter_queue_full", message_id=envelope.message.message_id)


def _expiry(expiration_s: float | None) -> float | None:
    return None if expiration_s is None else time.monotonic() + expiration_s


class InProcessTransport:
    """A client of an `InProcessBus`, with the same interface as `AmqpTransport`."""

    def __init__(self, bus: InProcessBus, *, prefetch: int = 16) -> None:
        self._bus = bus
        self._prefetch = prefetch
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        return None

    @property
    def connected(self) -> bool:
        return True

    async def publish(self, message: OutgoingMessage) -> None:
        self._bus.route(message)

    async def consume(self, queue: str, handler: Handler) -> None:
        source = self._bus.queue(queue)
        for _ in range(self._prefetch):
            self._tasks.append(asyncio.create_task(self._work(source, handler)))

    async def _work(self, source: _Queue, handler: Handler) -> None:
        limit = self._bus.topology.delivery_limit
        while True:
            envelope = await source.items.get()
            message = envelope.message
            if envelope.expires_at is not None and time.monotonic() > envelope.expires_at:
                self._bus.dead_letter(envelope, "expired", source.name)
                continue
            envelope.deliveries += 1
            headers: dict[str, object] = dict(message.headers)
            incoming = IncomingMessage(
                body=message.body,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                message_type=message.message_type,
                headers=headers,
                user_id=message.user_id,
                redelivered=envelope.deliveries > 1,
                death_reason=envelope.death_reason,
                death_queue=envelope.death_queue,
            )
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(
                queue=source.name, message_id=message.message_id, correlation_id=message.correlation_id
            )
            try:
                verdict = await handler(incoming)
                disposition = verdict.disposition
            except asyncio.CancelledError:
                # Closed mid-message: unacknowledged, so it is delivered again, as on RabbitMQ.
                source.items.put_nowait(envelope)
                raise
            except Exception:  # the consumer must survive a handler bug
                log.exception("handler_failed")
                disposition = Disposition.RETRY
            if disposition is Disposition.REJECT:
                self._bus.dead_letter(envelope, "rejected", source.name)
            elif disposition is Disposition.RETRY:
                # As RabbitMQ: the first delivery plus `limit` redeliveries, then dead-letter.
                if envelope.deliveries > limit:
                    self._bus.dead_letter(envelope, "delivery_limit", source.name)
                else:
                    await asyncio.sleep(0.05 * envelope.deliveries)
                    source.items.put_nowait(envelope)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
