"""Helpers for tests of downstream delivery: a closed enquiry to decide on, a service's queue as
the service sees it, and signed receipts. `take_service_view` + `assert_view_is_safe` are the
one-call check other suites (the browser tests) can use:

    payload = await assert_service_received_view(amqp_url, "early-help", broker_jwks,
                                                  referrer=("Ms Jo Referrer", "jo@school.example"))
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

import aio_pika

from adapters.sdk.signing import SigningKey, key_set, verify
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker
from broker.domain.decision import Decision, Outcome
from broker.domain.recipients import strings_in
from tests.integration.helpers import eventually, open_scenario
from tests.integration.partner import PartnerDriver

VIEW_JWS_TYP = "mash-service-view+jws"
RECEIPT_JWS_TYP = "mash-service-receipt+jws"
REFERRER = {"name": "Ms Jo Referrer", "role": "Class teacher", "organisation": "Quillsby Primary",
            "email": "jo.referrer@quillsby-primary.example", "phone": "01632 960123"}

SAFE = {"category": "education.attendance", "date": "2026-10-01", "summary": "Attendance 71% this term",
        "source_system": "School MIS", "source_reference": "ATT-1", "sos_domain": "worry",
        "dissemination": "summary_safe",
        "match": {"subject_ref": "S1", "method": "identifier", "identifier_type": "upn", "confidence": 1.0}}
MASH_ONLY = {**SAFE, "category": "education.dsl_concerns", "source_reference": "DSL-9",
             "summary": "DSL note: disclosure under assessment, not to be shared", "dissemination": "mash_only"}
MASH_ONLY_ATTENDANCE = {**SAFE, "source_reference": "ATT-SECRET", "summary": "Attendance note held back",
                        "dissemination": "mash_only"}
POLICE_SAFE = {**SAFE, "category": "police.domestic_abuse", "source_system": "Police RMS",
               "source_reference": "DA-7", "summary": "Domestic abuse incident, DASH standard"}


async def closed_enquiry(broker: Broker, partner: PartnerDriver) -> tuple[str, Any]:
    """An enquiry every asked partner answered: education with one summary-safe and two MASH-only
    findings, police with one summary-safe finding, health no trace. Returns (enquiry id, summary)."""
    opened = await open_scenario(broker)
    requests = {p: await partner.take_request(p) for p in ("education", "health", "police")}
    await partner.send(partner.envelope(partner.reply_payload(requests["health"]), signed_by="health"))
    await partner.send(partner.envelope(partner.reply_payload(
        requests["police"], outcome="findings", findings=[POLICE_SAFE],
        brag={"rating": "amber", "rationale": "Domestic abuse in the household"}), signed_by="police"))
    await partner.send(partner.envelope(partner.reply_payload(
        requests["education"], outcome="findings", findings=[SAFE, MASH_ONLY, MASH_ONLY_ATTENDANCE],
        brag={"rating": "amber", "rationale": "Persistent absence"}), signed_by="education"))
    history = await eventually(lambda: broker.views.summaries(opened.enquiry_id))
    return opened.enquiry_id, history[-1]


def decision_on(enquiry_id: str, summary: Any, outcome: Outcome, *, contact_id: str | None = None) -> Decision:
    """A manager's decision on that summary whose rationale names the referrer (as people write)."""
    return Decision(
        decision_id=str(uuid.uuid4()), contact_id=contact_id or str(uuid.uuid4()), outcome=outcome,
        rationale=f"Ms Jo Referrer (class teacher) reports persistent absence; {outcome.label} is proportionate.",
        decided_by="test.manager", decided_at=dt.datetime.now(dt.UTC), brag=None,
        enquiry_id=enquiry_id, summary_id=summary.summary_id,
        summary_sha256=hashlib.sha256(summary.jws.encode("ascii")).hexdigest(),
    )


def contact_for(decision: Decision) -> dict[str, Any]:
    return {"contact_id": decision.contact_id, "received_at": "2026-11-20T09:00:00Z",
            "reason": "Ms Jo Referrer is worried about the child's attendance", "referrer": dict(REFERRER)}


async def take_service_view(amqp_url: str, service_id: str, *, prefix: str = "mash",
                            timeout: float = 10.0) -> tuple[str, aio_pika.abc.AbstractIncomingMessage]:
    """The next view on the service's own queue (acknowledged), as its compact JWS."""
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{prefix}.service.{service_id}.views", ensure=True)
        loop = asyncio.get_running_loop()
        stop = loop.time() + timeout
        while loop.time() < stop:
            message = await queue.get(no_ack=False, fail=False)
            if message is not None:
                await message.ack()
                envelope = json.loads(message.body)
                assert envelope["v"] == 1 and envelope["type"] == "mash.service-view", envelope.keys()
                return envelope["jws"], message
            await asyncio.sleep(0.05)
    finally:
        await connection.close()
    raise TimeoutError(f"no view for {service_id} within {timeout} s")


def assert_view_is_safe(jws: str, jwks: dict[str, Any], *, service_id: str,
                        referrer: Iterable[str] = tuple(REFERRER[k] for k in ("name", "email", "phone"))
                        ) -> dict[str, Any]:
    """The view verifies against the broker's JWKS, is addressed to `service_id`, carries none of
    the referrer's identity, no MASH-only finding and no partner's own signed reply."""
    payload = verify(jws, key_set(jwks["keys"]), typ=VIEW_JWS_TYP)
    assert payload["type"] == "mash.service-view" and payload["service_id"] == service_id
    texts = [t.casefold() for t in strings_in(payload)]
    for secret in referrer:
        assert not any(secret.casefold() in t for t in texts), "the referrer's identity is in the view"
    assert "referrer" not in (payload["content"].get("contact") or {})
    for partner in payload["content"]["summary"].get("partners", []):
        assert "signed_reply" not in partner
        assert all(f["dissemination"] != "mash_only" for f in partner.get("findings", []))
    return payload


async def assert_service_received_view(amqp_url: str, service_id: str, jwks: dict[str, Any], *,
                                       referrer: Iterable[str] | None = None,
                                       timeout: float = 15.0) -> dict[str, Any]:
    """For other suites (e.g. the browser test): the service's own queue gets its view, which
    verifies and does not contain the referrer's identity. Returns the view payload."""
    jws, _ = await take_service_view(amqp_url, service_id, timeout=timeout)
    if referrer is None:
        return assert_view_is_safe(jws, jwks, service_id=service_id)
    return assert_view_is_safe(jws, jwks, service_id=service_id, referrer=referrer)


def signed_receipt(workspace: DevWorkspace, jws: str, *, service_id: str, signed_by: str | None = None,
                   view_sha256: str | None = None) -> str:
    """A receipt for the view `jws` naming `service_id`, signed with `signed_by`'s dev key."""
    _, payload_b64, _ = jws.split(".")
    import base64

    payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
    key = SigningKey.from_pem_file(workspace.service_key(signed_by or service_id), None)
    return key.sign({
        "type": "mash.service-receipt", "view_id": payload["view_id"], "service_id": service_id,
        "view_sha256": view_sha256 or hashlib.sha256(jws.encode("ascii")).hexdigest(),
        "received_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
    }, typ=RECEIPT_JWS_TYP)


async def publish_receipt(amqp_url: str, token: str, *, prefix: str = "mash") -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(f"{prefix}.receipts", ensure=True)
        body = json.dumps({"v": 1, "type": "mash.service-receipt", "jws": token}).encode()
        await exchange.publish(aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                message_id=str(uuid.uuid4())),
                               routing_key="broker", mandatory=True)
    finally:
        await connection.close()
