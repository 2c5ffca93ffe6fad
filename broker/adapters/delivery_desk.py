"""Downstream delivery wired to the running broker: the configured services, the policy, the
webhook client, and the receipts consumer. The composition root builds one (bootstrap.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from adapters.sdk.transport.base import IncomingMessage, Verdict
from agreements.recipients import load_recipients
from broker.adapters.messaging.reply_consumer import TRANSIENT_DB_ERRORS
from broker.adapters.rabbitmq_access import service_of_user
from broker.adapters.webhooks import HttpxPoster
from broker.config import Settings
from broker.domain.access import Principal
from broker.service import deliveries as d
from broker.service.ports import Clock, Signer

log = structlog.get_logger("mash.deliveries")


def load_directory(settings: Settings, known_categories: frozenset[str] | None = None) -> d.ServiceDirectory:
    return d.ServiceDirectory(load_recipients(settings.recipients_path, known_categories=known_categories))


def policy_from(settings: Settings) -> d.DeliveryPolicy:
    s = settings.delivery
    return d.DeliveryPolicy(
        ack_timeout=s.ack_timeout, max_sends=s.max_sends, webhook_max_attempts=s.webhook_max_attempts,
        webhook_backoff_base_s=s.webhook_backoff_base_s, webhook_backoff_max_s=s.webhook_backoff_max_s,
    )


@dataclass
class DeliveryDesk:
    directory: d.ServiceDirectory
    policy: d.DeliveryPolicy
    uow_factory: Callable[[], Any]
    signer: Signer
    clock: Clock
    new_id: Callable[[], str]
    user_prefix: str = "mash"
    require_user_id: bool = False
    wake_relay: Callable[[], None] = lambda: None
    poster: d.WebhookPoster = field(default_factory=HttpxPoster)
    _webhooks: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def issue_views(self, uow: Any, decision: Any, contact: Any) -> list[str]:
        """Call inside the decision's transaction (then wake the relay after the commit)."""
        return await d.issue_views(uow, decision=decision, contact=contact, directory=self.directory,
                                   signer=self.signer, clock=self.clock, new_id=self.new_id,
                                   policy=self.policy)

    async def deliver_decision(self, decision: Any, contact: Any) -> list[str]:
        """Issue views in a transaction of their own (when the decision was committed already)."""
        async with self.uow_factory() as uow:
            issued = await self.issue_views(uow, decision, contact)
            await uow.commit()
        if issued:
            self.wake_relay()
        return issued

    async def sweep(self) -> tuple[int, int]:
        """(re-sent, given up); the sweeper calls this every interval. Webhook attempts run in a
        task of their own, so a slow webhook never holds up the deadline sweeper."""
        resent, gave_up = await d.resend_unacknowledged(
            uow_factory=self.uow_factory, directory=self.directory, clock=self.clock,
            new_id=self.new_id, policy=self.policy, on_commit=self.wake_relay)
        if self._webhooks is None or self._webhooks.done():
            self._webhooks = asyncio.create_task(self._webhooks_once(), name="webhooks")
        return resent, gave_up

    async def sweep_webhooks(self) -> int:
        """One round of due webhook attempts, awaited; how many were attempted."""
        return await d.deliver_webhooks(
            uow_factory=self.uow_factory, directory=self.directory, poster=self.poster,
            clock=self.clock, policy=self.policy,
            on_receipt=lambda body: self.record_receipt(body, channel="webhook"))

    async def _webhooks_once(self) -> None:
        try:
            await self.sweep_webhooks()
        except asyncio.CancelledError:
            raise
        except Exception:  # the database may be away; attempts wait in it
            log.exception("webhook_round_failed")

    async def record_receipt(self, body: bytes | str, *, channel: str,
                             senders: frozenset[str] | None = None,
                             view_id: str | None = None) -> d.ReceiptResult:
        return await d.record_receipt(body, channel=channel, uow_factory=self.uow_factory,
                                      directory=self.directory, clock=self.clock,
                                      senders=senders, view_id=view_id)

    async def on_receipt_message(self, message: IncomingMessage) -> Verdict:
        """The receipts queue. A refused receipt is recorded and acknowledged: the record is the
        effect, and dead-lettering it would only hand it to the reply dead-letter drain."""
        sender = service_of_user(self.user_prefix, message.user_id or "")
        if self.require_user_id and sender is None:
            senders: frozenset[str] | None = frozenset()
        else:
            senders = frozenset({sender}) if sender else None
        try:
            await self.record_receipt(message.body, channel="amqp", senders=senders)
        except TRANSIENT_DB_ERRORS as error:  # the database is away: deliver it again later
            log.warning("receipt_waiting_for_database", error=type(error).__name__)
            return Verdict.retry(type(error).__name__)
        return Verdict.ack()

    async def list_deliveries(self, principal: Principal, **filters: Any) -> list[dict[str, Any]]:
        return await d.list_deliveries(self.uow_factory, principal, now=self.clock.now(), **filters)

    async def service_views(self, principal: Principal, service_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        return await d.service_views(self.uow_factory, principal, service_id, now=self.clock.now(), limit=limit)

    async def close(self) -> None:
        if self._webhooks is not None and not self._webhooks.done():
            self._webhooks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhooks
        close = getattr(self.poster, "aclose", None)
        if close is not None:
            await close()
