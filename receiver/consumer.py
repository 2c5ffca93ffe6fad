"""The receiving service's consumer: its own queue in, receipts out (aio-pika)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage

from adapters.sdk.signing import SigningKey
from receiver.core import ViewRefused, receipt, receipt_envelope, verify_view, view_token
from receiver.store import ViewStore
from receiver.wire import RECEIPT_TYPE, RECEIPTS_EXCHANGE, RECEIPTS_ROUTING_KEY, VIEWS_QUEUE

log = structlog.get_logger("mash.receiver")


@dataclass
class Receiver:
    service_id: str
    amqp_url: str
    jwks: dict[str, Any]
    key: SigningKey
    store: ViewStore
    prefix: str = "mash"
    prefetch: int = 16
    exit_after: int | None = None  # stop after this many distinct views (tests, batch runs)

    def __post_init__(self) -> None:
        self._done = asyncio.Event()
        self._seen: set[str] = set()
        user = urlsplit(self.amqp_url).username
        self._user = unquote(user) if user else None

    async def handle(self, message: AbstractIncomingMessage, exchange: aio_pika.abc.AbstractExchange) -> None:
        try:
            view = verify_view(view_token(message.body), self.jwks, service_id=self.service_id)
            payload = view.payload
            now = dt.datetime.now(dt.UTC)
            first, received_at = self.store.put(
                view_id=view.view_id, service_id=self.service_id, enquiry_id=payload.get("enquiry_id"),
                summary_id=payload.get("summary_id"), decision_outcome=payload.get("decision_outcome"),
                issued_at=payload.get("issued_at"), received_at=now.isoformat(), view_sha256=view.sha256,
                jws=view.jws,
            )
        except (ViewRefused, ValueError) as error:
            log.warning("view_refused", message_id=message.message_id, reason=str(error)[:200])
            await message.reject(requeue=False)  # dead-lettered by the broker's queue policy
            return
        # A receipt for every copy: the broker may have missed the first one.
        token = receipt(view, key=self.key, service_id=self.service_id,
                        received_at=dt.datetime.fromisoformat(received_at))
        await exchange.publish(
            aio_pika.Message(receipt_envelope(token), content_type="application/json",
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT, type=RECEIPT_TYPE,
                             message_id=f"receipt-{view.view_id}", correlation_id=view.view_id,
                             user_id=self._user),
            routing_key=RECEIPTS_ROUTING_KEY, mandatory=True, timeout=10,
        )
        await message.ack()
        log.info("view_received", view_id=view.view_id, service_id=self.service_id,
                 outcome=payload.get("decision_outcome"), first=first)
        self._seen.add(view.view_id)
        if self.exit_after is not None and len(self._seen) >= self.exit_after:
            self._done.set()

    async def run(self) -> None:
        connection = await aio_pika.connect_robust(
            self.amqp_url, client_properties={"connection_name": f"mash-receiver-{self.service_id}"})
        try:
            publish = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await publish.get_exchange(RECEIPTS_EXCHANGE.format(prefix=self.prefix), ensure=False)
            consume = await connection.channel()
            await consume.set_qos(prefetch_count=self.prefetch)
            queue = await consume.get_queue(
                VIEWS_QUEUE.format(prefix=self.prefix, service_id=self.service_id), ensure=True)

            async def on_message(message: AbstractIncomingMessage) -> None:
                try:
                    await self.handle(message, exchange)
                except Exception:  # publishing the receipt failed: deliver the view again later
                    log.exception("view_handling_failed", message_id=message.message_id)
                    await message.nack(requeue=True)

            await queue.consume(on_message)
            log.info("receiver_started", service_id=self.service_id)
            await self._done.wait()
        finally:
            await connection.close()

    def stop(self) -> None:
        self._done.set()
