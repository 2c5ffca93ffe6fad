"""Downstream delivery: each receiving service gets its own signed view of the summary.

When the manager's decision is recorded, `issue_views` runs INSIDE the decision's
transaction: for every active service whose outcomes include the decision's, it cuts the
view from the full record (broker/domain/recipients.py: removal only), signs it, stores it
sealed and writes an outbox message to the service's own queue, so the decision, its views
and their messages commit together or not at all. The outbox relay publishes them with
publisher confirms.

The service answers with a signed receipt (its own Ed25519 key, from its configuration)
over {view_id, service_id, sha256 of the view's JWS, received_at}, on the receipts queue
or over HTTP. A view not acknowledged in time is sent again (same view id; receivers
dedupe on it) up to a limit, after which it is shown undelivered. A webhook, when
configured, is POSTed the view's JWS with retries and exponential backoff held in the
database, so a restart loses none.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from adapters.sdk.signing import SignatureInvalid, canonical_json, import_public_jwk, unverified_claims, verify
from adapters.sdk.transport.base import OutgoingMessage
from agreements.recipients import ReceivingService
from broker.adapters.db.deliveries_repository import StoredView
from broker.domain.access import AUDITOR, MASH_MANAGER, Forbidden, NotVisible, Principal
from broker.domain.audit import AuditEntry
from broker.domain.recipients import (
    RECEIPT_TYPE,
    VIEW_TYPE,
    ServicePolicy,
    full_record,
    make_view,
)
from broker.service.ports import Clock, Signer

log = structlog.get_logger("mash.deliveries")

VIEW_JWS_TYP = "mash-service-view+jws"
RECEIPT_JWS_TYP = "mash-service-receipt+jws"
DELIVERIES_EXCHANGE = "deliveries"  # logical name (topology.py)
WIRE_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
BROKER = "broker"


def sha256_hex(data: str | bytes) -> str:
    return hashlib.sha256(data.encode("ascii") if isinstance(data, str) else data).hexdigest()


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard we try (settings: MASH_DELIVERY__*)."""

    ack_timeout: dt.timedelta = dt.timedelta(hours=1)
    max_sends: int = 3
    webhook_max_attempts: int = 8
    webhook_backoff_base_s: float = 2.0
    webhook_backoff_max_s: float = 600.0

    def webhook_backoff(self, attempts_before: int, retry_after_s: float | None = None) -> dt.timedelta:
        """Exponential: base, 2·base, 4·base … capped; a longer Retry-After is honoured (capped too)."""
        delay = self.webhook_backoff_base_s * (2 ** min(attempts_before, 30))
        if retry_after_s is not None:
            delay = max(delay, retry_after_s)
        return dt.timedelta(seconds=min(delay, self.webhook_backoff_max_s))


class ServiceDirectory:
    """The configured receiving services, by id."""

    def __init__(self, services: Iterable[ReceivingService] = ()) -> None:
        self._services = {s.service_id: s for s in services}

    def get(self, service_id: str) -> ReceivingService | None:
        return self._services.get(service_id)

    def all(self) -> list[ReceivingService]:
        return [self._services[k] for k in sorted(self._services)]

    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._services))

    def receiving(self, outcome: str) -> list[ReceivingService]:
        return [s for s in self.all() if s.receives(outcome)]


def policy_of(service: ReceivingService) -> ServicePolicy:
    return ServicePolicy(service.service_id, service.name, service.categories, service.dissemination)


# --- the full record from the decision's domain objects -----------------------------------------

def _iso(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value)  # enums


def decision_record(decision: Any) -> dict[str, Any]:
    """The decision as JSON-ready data: its signed payload when it has one."""
    if isinstance(decision, Mapping):
        return {k: _iso(v) for k, v in decision.items()}
    return dict(decision.payload())


def contact_record(contact: Any) -> dict[str, Any] | None:
    """The contact as JSON-ready data, referrer included (the view removes it)."""
    if contact is None:
        return None
    if isinstance(contact, Mapping):
        return dict(contact)
    referrer = getattr(contact, "referrer", None)
    return {
        "contact_id": contact.contact_id,
        "received_at": _iso(contact.received_at),
        "reason": contact.reason,
        "brag": _iso(getattr(contact, "brag", None)),
        "referrer": (
            {k: getattr(referrer, k, None) for k in ("name", "role", "organisation", "phone", "email")}
            if referrer is not None else None
        ),
    }


# --- issuing views (inside the decision's transaction) ------------------------------------------

def _message(view_id: str, service_id: str, jws: str, *, message_id: str, send: int) -> OutgoingMessage:
    body = canonical_json({"v": WIRE_VERSION, "type": VIEW_TYPE, "jws": jws})
    return OutgoingMessage(
        exchange=DELIVERIES_EXCHANGE, routing_key=service_id, body=body, message_id=message_id,
        correlation_id=view_id, message_type=VIEW_TYPE,
        headers={"service_id": service_id, "send": str(send)},
    )


async def _summary_for(uow: Any, record: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The summary the decision was made on (or the latest), its payload and the SHA-256 of its JWS."""
    enquiry_id = record.get("enquiry_id")
    if not enquiry_id:
        return {}, None
    history = await uow.summaries.history(enquiry_id)
    wanted = record.get("summary_id")
    chosen = next((s for s in history if s.summary_id == wanted), None) if wanted else (
        history[-1] if history else None)
    if chosen is None or not chosen.jws:
        return {}, None  # no summary (or purged): the view carries the decision alone
    _, payload = unverified_claims(chosen.jws)  # our own, sealed at rest (AES-GCM authenticates it)
    return payload, sha256_hex(chosen.jws)


async def issue_views(
    uow: Any, *, decision: Any, contact: Any, directory: ServiceDirectory, signer: Signer,
    clock: Clock, new_id: Callable[[], str], policy: DeliveryPolicy,
) -> list[str]:
    """Views for every service the decision's outcome goes to; ids of the views issued.

    Call inside the transaction that records the decision. Idempotent per (decision, service).
    """
    record = decision_record(decision)
    outcome = str(record["outcome"])
    services = directory.receiving(outcome)
    if not services:
        return []
    already = {v.service_id for v in await uow.deliveries.for_decision(record["decision_id"])}
    summary, summary_sha256 = await _summary_for(uow, record)
    contact_data = contact_record(contact)
    full = full_record(summary, record, contact_data)
    now = clock.now()
    issued: list[str] = []
    entries: list[AuditEntry] = []
    for service in services:
        if service.service_id in already:
            continue
        view_id = new_id()
        payload = make_view(full, policy_of(service), view_id=view_id,
                            summary_sha256=summary_sha256, issued_at=now)
        jws = signer.sign(payload, typ=VIEW_JWS_TYP)
        await uow.deliveries.add(StoredView(
            view_id=view_id, service_id=service.service_id, enquiry_id=record.get("enquiry_id"),
            contact_id=record.get("contact_id") or (contact_data or {}).get("contact_id"),
            summary_id=summary.get("summary_id"), decision_id=record["decision_id"],
            decision_outcome=outcome, issued_at=now, jws=jws, jws_sha256=sha256_hex(jws),
            sends=1, last_sent_at=now, ack_due_at=now + (service.ack_within or policy.ack_timeout),
            webhook_url=service.webhook.url if service.webhook else None,
            webhook_state="pending" if service.webhook else None,
            webhook_next_attempt_at=now if service.webhook else None,
        ))
        await uow.outbox.add([_message(view_id, service.service_id, jws, message_id=new_id(), send=1)],
                             now=now, expires_at=None)
        details = {"service_id": service.service_id, "view_id": view_id,
                   "decision_id": record["decision_id"]}
        if summary.get("summary_id"):
            details["summary_id"] = summary["summary_id"]
        entries.append(AuditEntry(
            at=now, actor=BROKER, action="view.issued", outcome="queued",
            enquiry_id=record.get("enquiry_id"),
            reason=f"decision {outcome}: {service.name} receives its view", details=details,
        ))
        issued.append(view_id)
    if entries:
        await uow.audit.append(*entries)
        log.info("views_issued", decision_id=record["decision_id"], view_ids=issued)
    return issued


# --- re-sending what was not acknowledged --------------------------------------------------------

async def resend_unacknowledged(
    *, uow_factory: Callable[[], Any], directory: ServiceDirectory, clock: Clock,
    new_id: Callable[[], str], policy: DeliveryPolicy, limit: int = 100,
    on_commit: Callable[[], None] = lambda: None,
) -> tuple[int, int]:
    """(re-sent, given up): views whose receipt is overdue go out again, up to max_sends."""
    resent = gave_up = 0
    now = clock.now()
    async with uow_factory() as uow:
        entries = []
        for view_id in await uow.deliveries.due_for_resend(now, limit):
            view = await uow.deliveries.get(view_id)
            if view is None or view.jws is None:
                continue
            details = {"service_id": view.service_id, "view_id": view.view_id}
            if view.sends >= policy.max_sends:
                reason = f"no valid receipt after {view.sends} sends"
                await uow.deliveries.mark_undelivered(view.view_id, now, reason=reason)
                entries.append(AuditEntry(
                    at=now, actor=BROKER, action="view.undelivered", outcome="undelivered",
                    enquiry_id=view.enquiry_id, details=details, reason=reason,
                ))
                gave_up += 1
                continue
            service = directory.get(view.service_id)
            timeout = (service.ack_within if service and service.ack_within else policy.ack_timeout)
            await uow.outbox.add(
                [_message(view.view_id, view.service_id, view.jws, message_id=new_id(), send=view.sends + 1)],
                now=now, expires_at=None,
            )
            await uow.deliveries.mark_sent(view.view_id, at=now, ack_due_at=now + timeout)
            entries.append(AuditEntry(
                at=now, actor=BROKER, action="view.resent", outcome="queued",
                enquiry_id=view.enquiry_id, details=details,
                reason=f"no receipt by the deadline; send {view.sends + 1} of {policy.max_sends}",
            ))
            resent += 1
        if entries:
            await uow.audit.append(*entries)
        await uow.commit()
    if resent:
        on_commit()
    if resent or gave_up:
        log.info("views_resent", resent=resent, undelivered=gave_up)
    return resent, gave_up


async def record_view_dead_letter(
    view_id: str, *, death: str, where: str, uow_factory: Callable[[], Any], clock: Clock,
) -> str:
    """A view dead-lettered from a service's queue (its consumer refused it, or it ran out of
    deliveries) is shown undelivered at once, with why: sending it again would not help."""
    now = clock.now()
    async with uow_factory() as uow:
        view = await uow.deliveries.get(view_id, for_update=True)
        if view is None:
            return "unknown view"
        if view.acknowledged_at is not None or view.undelivered_at is not None:
            return "already settled"
        reason = f"dead-lettered from {where}: {death}"
        await uow.deliveries.mark_undelivered(view.view_id, now, reason=reason)
        await uow.audit.append(AuditEntry(
            at=now, actor=BROKER, action="view.undelivered", outcome="dead_lettered",
            enquiry_id=view.enquiry_id, reason=reason,
            details={"service_id": view.service_id, "view_id": view.view_id}))
        await uow.commit()
    log.warning("view_dead_lettered", view_id=view_id, death=death)
    return "view undelivered"


# --- receipts -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReceiptResult:
    outcome: str  # acknowledged | duplicate | rejected
    reason: str = ""
    view_id: str | None = None
    service_id: str | None = None
    not_found: bool = False  # the view does not exist for the sender (HTTP: 404)


class _Refused(Exception):
    def __init__(self, reason: str, *, not_found: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.not_found = not_found


def receipt_token(body: bytes) -> str:
    """The compact JWS from a receipt message body: the JSON envelope, or the bare JWS."""
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            envelope = json.loads(text)
        except ValueError as error:
            raise _Refused("the body is not JSON") from error
        if not isinstance(envelope, dict) or envelope.get("type") != RECEIPT_TYPE or envelope.get("v") != 1:
            raise _Refused(f"not a {RECEIPT_TYPE} envelope (v 1)")
        jws = envelope.get("jws")
        if not isinstance(jws, str):
            raise _Refused("the envelope has no jws")
        return jws
    return text


def _parse_time(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise _Refused("received_at must be an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise _Refused("received_at must be an ISO 8601 time") from error
    if parsed.tzinfo is None:
        raise _Refused("received_at must carry a time zone")
    return parsed


async def record_receipt(
    body: bytes | str, *, channel: str, uow_factory: Callable[[], Any], directory: ServiceDirectory,
    clock: Clock, senders: frozenset[str] | None = None, view_id: str | None = None,
) -> ReceiptResult:
    """Verify a service's signed receipt and mark its view acknowledged; anything else is
    refused with its reason, recorded (ids and a hash only) and audited.

    `senders`: the services the transport vouches for (the AMQP user, the bearer token's
    service roles); None when the transport vouches for nobody (the signature still must).
    `view_id`: the view the receipt was posted for (HTTP path), which it must name.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else body
    now = clock.now()
    claimed_service: str | None = None
    claimed_view: str | None = None
    try:
        token = receipt_token(raw) if isinstance(body, bytes) else body.strip()
        try:
            header, unverified = unverified_claims(token)
        except SignatureInvalid as error:
            raise _Refused(str(error)) from error
        claimed_service = unverified.get("service_id") if isinstance(unverified.get("service_id"), str) else None
        claimed_view = unverified.get("view_id") if isinstance(unverified.get("view_id"), str) else None
        if claimed_service is not None and not _ID.match(claimed_service):
            claimed_service = None
            raise _Refused("service_id is not an identifier")
        if claimed_view is not None and not _ID.match(claimed_view):
            claimed_view = None
            raise _Refused("view_id is not an identifier")
        if claimed_service is None or claimed_view is None:
            raise _Refused("a receipt names the view_id and the service_id")
        if senders is not None and claimed_service not in senders:
            raise _Refused(f"sent by {sorted(senders) or 'nobody known'}, but names service {claimed_service}",
                           not_found=True)
        if view_id is not None and claimed_view != view_id:
            raise _Refused("the receipt names another view than the one it was posted for")
        service = directory.get(claimed_service)
        if service is None:
            raise _Refused(f"no receiving service {claimed_service} is configured", not_found=True)
        try:
            payload = verify(token, import_public_jwk(service.public_jwk), typ=RECEIPT_JWS_TYP)
        except SignatureInvalid as error:
            raise _Refused(f"signature does not verify with {claimed_service}'s key: {error}") from error
        if payload.get("type") != RECEIPT_TYPE:
            raise _Refused(f"payload type must be {RECEIPT_TYPE}")
        view_sha256 = payload.get("view_sha256")
        if not isinstance(view_sha256, str) or not _SHA256.match(view_sha256):
            raise _Refused("view_sha256 must be 64 lower-case hex digits")
        received_at = _parse_time(payload.get("received_at"))
        async with uow_factory() as uow:
            view = await uow.deliveries.get(claimed_view, for_update=True)
            if view is None or view.service_id != claimed_service:
                raise _Refused(f"no view {claimed_view} was issued to {claimed_service}", not_found=True)
            if view.jws_sha256 != view_sha256:
                raise _Refused("view_sha256 does not match the view issued (altered or another view)")
            first = await uow.deliveries.acknowledge(
                view.view_id, at=now, channel=channel, receipt_jws=token, received_at=received_at)
            if first:
                await uow.audit.append(AuditEntry(
                    at=now, actor=f"service:{claimed_service}", action="view.acknowledged",
                    outcome="acknowledged", enquiry_id=view.enquiry_id,
                    details={"service_id": claimed_service, "view_id": view.view_id},
                ))
            await uow.commit()
        log.info("receipt_recorded", view_id=claimed_view, service_id=claimed_service, first=first)
        return ReceiptResult("acknowledged" if first else "duplicate", view_id=claimed_view,
                             service_id=claimed_service)
    except _Refused as refused:
        async with uow_factory() as uow:
            await uow.deliveries.reject_receipt(
                at=now, channel=channel, service_id=claimed_service, view_id=claimed_view,
                reason=refused.reason, body_sha256=sha256_hex(raw),
            )
            details = {k: v for k, v in (("service_id", claimed_service), ("view_id", claimed_view)) if v}
            await uow.audit.append(AuditEntry(
                at=now, actor=f"service:{claimed_service}" if claimed_service else "unknown",
                action="receipt.rejected", outcome="rejected", reason=refused.reason[:2000],
                details=details,
            ))
            await uow.commit()
        log.warning("receipt_rejected", view_id=claimed_view, service_id=claimed_service, channel=channel)
        return ReceiptResult("rejected", refused.reason, claimed_view, claimed_service, refused.not_found)


# --- webhooks ---------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class WebhookResponse:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


class WebhookPoster(Protocol):
    async def __call__(self, url: str, body: bytes, headers: Mapping[str, str],
                       timeout_s: float) -> WebhookResponse: ...


_RETRYABLE_4XX = frozenset({408, 425, 429})


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


async def deliver_webhooks(
    *, uow_factory: Callable[[], Any], directory: ServiceDirectory, poster: WebhookPoster,
    clock: Clock, policy: DeliveryPolicy, limit: int = 20,
    on_receipt: Callable[[bytes], Awaitable[ReceiptResult]] | None = None,
) -> int:
    """POST each due view to its service's webhook; returns how many were attempted."""
    now = clock.now()
    async with uow_factory() as uow:
        due = await uow.deliveries.webhooks_due(now, limit)
        leased = []
        for view_id, expected in due:
            if await uow.deliveries.lease_webhook(view_id, expected=expected, until=now + dt.timedelta(minutes=2)):
                leased.append(view_id)
        await uow.commit()

    async def attempt(view_id: str) -> None:
        async with uow_factory() as uow:
            view = await uow.deliveries.get(view_id)
        if view is None or view.webhook_url is None or view.jws is None:
            return
        service = directory.get(view.service_id)
        timeout = service.webhook.timeout_s if service and service.webhook else 10.0
        headers = {"content-type": "application/jose", "x-mash-view-id": view.view_id,
                   "x-mash-service-id": view.service_id, "x-mash-attempt": str(view.webhook_attempts + 1)}
        error: str | None = None
        retry_after: float | None = None
        receipt: bytes | None = None
        try:
            response = await poster(view.webhook_url, view.jws.encode("ascii"), headers, timeout)
            if 200 <= response.status < 300:
                ctype = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
                if response.body and ctype.startswith("application/jose"):
                    receipt = response.body
            else:
                error = f"HTTP {response.status}"
                retry_after = _retry_after(response.headers)
        except Exception as failure:  # network errors of any kind: retried with backoff
            error = f"{type(failure).__name__}"
        attempts = view.webhook_attempts + 1
        at = clock.now()
        permanent = error is not None and error.startswith("HTTP 4") and int(error[5:8]) not in _RETRYABLE_4XX
        async with uow_factory() as uow:
            details = {"service_id": view.service_id, "view_id": view.view_id}
            if error is None:
                await uow.deliveries.webhook_attempted(view.view_id, state="delivered", error=None,
                                                       next_attempt_at=None, delivered_at=at)
                await uow.audit.append(AuditEntry(
                    at=at, actor=BROKER, action="view.webhook", outcome="delivered",
                    enquiry_id=view.enquiry_id, details=details, reason=f"HTTP 2xx on attempt {attempts}"))
            elif permanent or attempts >= policy.webhook_max_attempts:
                await uow.deliveries.webhook_attempted(view.view_id, state="failed", error=error,
                                                       next_attempt_at=None, delivered_at=None)
                await uow.audit.append(AuditEntry(
                    at=at, actor=BROKER, action="view.webhook", outcome="failed",
                    enquiry_id=view.enquiry_id, details=details,
                    reason=f"{error} after {attempts} attempts" + (" (not retryable)" if permanent else "")))
            else:
                await uow.deliveries.webhook_attempted(
                    view.view_id, state="pending", error=error, delivered_at=None,
                    next_attempt_at=at + policy.webhook_backoff(attempts - 1, retry_after))
            await uow.commit()
        log.info("webhook_attempted", view_id=view.view_id, ok=error is None, attempts=attempts)
        if receipt is not None and on_receipt is not None:
            await on_receipt(receipt)
    # Concurrently: one slow webhook does not hold up the others (each is bounded by its timeout).
    await asyncio.gather(*(attempt(v) for v in leased))
    return len(leased)


# --- reading ------------------------------------------------------------------------------------------

def authorize_deliveries(principal: Principal) -> None:
    """Managers and auditors see every delivery's record (ids, status, times; no content)."""
    if not (principal.has(MASH_MANAGER) or principal.has(AUDITOR)):
        raise Forbidden("the delivery list needs the mash_manager or auditor role",
                        actor=principal.subject, action="list_deliveries")


def authorize_service_views(principal: Principal, service_id: str) -> None:
    """A service sees its own views only; anyone else is told there is nothing here."""
    if service_id not in principal.services:
        raise NotVisible("no such service", actor=principal.subject, action="read_service_views")


def delivery_row(view: Any, *, now: dt.datetime) -> dict[str, Any]:
    return {
        "view_id": view.view_id, "service_id": view.service_id, "enquiry_id": view.enquiry_id,
        "contact_id": view.contact_id, "summary_id": view.summary_id, "decision_id": view.decision_id,
        "decision_outcome": view.decision_outcome, "issued_at": view.issued_at,
        "status": view.status, "sends": view.sends, "last_sent_at": view.last_sent_at,
        "ack_due_at": view.ack_due_at,
        "overdue": view.acknowledged_at is None and (
            view.undelivered_at is not None or (view.ack_due_at is not None and view.ack_due_at <= now)),
        "acknowledged_at": view.acknowledged_at, "ack_channel": view.ack_channel,
        "undelivered_at": view.undelivered_at, "undelivered_reason": view.undelivered_reason,
        "view_sha256": view.jws_sha256,
        "purged_at": view.purged_at,
        "webhook": None if view.webhook_state is None else {
            "state": view.webhook_state, "attempts": view.webhook_attempts,
            "next_attempt_at": view.webhook_next_attempt_at, "last_error": view.webhook_last_error,
            "delivered_at": view.webhook_delivered_at,
        },
    }


async def list_deliveries(uow_factory: Callable[[], Any], principal: Principal, *, now: dt.datetime,
                          status: str | None = None, service_id: str | None = None,
                          limit: int = 100) -> list[dict[str, Any]]:
    authorize_deliveries(principal)
    async with uow_factory() as uow:
        views = await uow.deliveries.listing(service_id=service_id, limit=limit, status=status)
    return [delivery_row(v, now=now) for v in views]


async def service_views(uow_factory: Callable[[], Any], principal: Principal, service_id: str, *,
                        now: dt.datetime, limit: int = 100) -> list[dict[str, Any]]:
    authorize_service_views(principal, service_id)
    async with uow_factory() as uow:
        views = await uow.deliveries.listing(service_id=service_id, limit=limit)
        if views:  # a service reading what it was given is recorded like a summary read
            await uow.audit.append(AuditEntry(
                at=now, actor=principal.subject, action="views.read", outcome="read",
                details={"service_id": service_id, "view_ids": [v.view_id for v in views]}))
            await uow.commit()
    return [{**delivery_row(v, now=now), "jws": v.jws} for v in views]


__all__: Sequence[str] = (
    "DeliveryPolicy", "ReceiptResult", "ServiceDirectory", "WebhookResponse", "deliver_webhooks",
    "issue_views", "list_deliveries", "record_receipt", "resend_unacknowledged", "service_views",
)
