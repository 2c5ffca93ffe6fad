"""The outbox relay: publish committed rows with confirms, mark them only when confirmed.

At-least-once: a crash between the confirm and the mark republishes the row with
the same message_id, and consumers dedupe on it. On PostgreSQL several relays
can run (SKIP LOCKED); on SQLite exactly one runs, in the broker process.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog

from adapters.sdk.transport.base import OutgoingMessage, PublishRefused, Transport
from broker.service.ports import Clock, UnitOfWorkFactory

log = structlog.get_logger("mash.relay")

_MAX_BACKOFF = dt.timedelta(seconds=60)


class OutboxRelay:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        transport: Transport,
        clock: Clock,
        batch: int = 100,
        poll_s: float = 0.5,
        backpressure_s: float = 5.0,
    ) -> None:
        self._uow_factory = uow_factory
        self._transport = transport
        self._clock = clock
        self._batch = batch
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._backpressure = dt.timedelta(seconds=backpressure_s)
        self.refused_until: dt.datetime | None = None  # RabbitMQ said its queues are full

    def pressure_remaining(self, now: dt.datetime) -> float:
        """Seconds until new work should be accepted again; 0 when it can be now."""
        if self.refused_until is None or now >= self.refused_until:
            return 0.0
        return (self.refused_until - now).total_seconds()

    def wake(self) -> None:
        """Called after a commit that wrote outbox rows, so they leave at once."""
        self._wake.set()

    async def run_once(self) -> int:
        """Publish one batch; returns how many rows were confirmed."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            pending = await uow.outbox.claim(now, self._batch)
            if not pending:
                return 0
            results = await asyncio.gather(
                *(self._publish(p.message, p.expires_at, now) for p in pending),
                return_exceptions=True,
            )
            confirmed = []
            for item, result in zip(pending, results, strict=True):
                if result is None:
                    confirmed.append(item.row_id)
                    continue
                if isinstance(result, PublishRefused) and result.kind == "full":
                    self.refused_until = now + self._backpressure
                backoff = min(dt.timedelta(seconds=2 ** min(item.attempts, 6)), _MAX_BACKOFF)
                await uow.outbox.mark_failed(item.row_id, error=str(result), retry_at=now + backoff)
                log.warning(
                    "publish_failed",
                    message_id=item.message.message_id,
                    attempts=item.attempts + 1,
                    error=type(result).__name__,
                )
            await uow.outbox.mark_published(confirmed, self._clock.now())
            await uow.commit()
        return len(confirmed)

    async def _publish(
        self, message: OutgoingMessage, expires_at: dt.datetime | None, now: dt.datetime
    ) -> None:
        expiration = None
        if expires_at is not None:
            remaining = (expires_at - now).total_seconds()
            if remaining <= 0:
                # Past its deadline: sending it now would only ask a partner for work
                # nobody will read. Marked done; the sweeper records the no_reply.
                log.warning("request_expired_before_publish", message_id=message.message_id)
                return
            expiration = remaining
        outgoing = OutgoingMessage(
            exchange=message.exchange,
            routing_key=message.routing_key,
            body=message.body,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            message_type=message.message_type,
            headers=message.headers,
            expiration_s=expiration,
        )
        await self._transport.publish(outgoing)

    async def run_forever(self) -> None:
        while True:
            try:
                published = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away; the rows wait for us
                log.exception("relay_cycle_failed")
                published = 0
            if published >= self._batch:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            except TimeoutError:
                pass


__all__ = ["OutboxRelay", "PublishRefused"]
