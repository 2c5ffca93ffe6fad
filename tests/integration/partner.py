"""A partner agency as a test drives it: takes requests off its real queue, answers with a
real Ed25519 signature (or a deliberately bad one) over the real reply exchange."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from typing import Any

import aio_pika

from adapters.sdk.messages import REPLY_JWS_TYP, REQUEST_JWS_TYP, PartnerRequest
from adapters.sdk.signing import SigningKey, key_set, verify
from adapters.sdk.transport.topology import REPLY_ROUTING_KEY, Topology
from broker.adapters.dev_workspace import DevWorkspace


class PartnerDriver:
    def __init__(self, amqp_url: str, workspace: DevWorkspace, topology: Topology) -> None:
        self._url = amqp_url
        self._workspace = workspace
        self._topology = topology
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def __aenter__(self) -> PartnerDriver:
        self._connection = await aio_pika.connect_robust(self._url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._connection is not None
        await self._connection.close()

    def key(self, partner_id: str) -> SigningKey:
        return SigningKey.from_pem_file(self._workspace.partner_key(partner_id), None)

    async def take_request(self, partner_id: str, timeout: float = 10.0) -> PartnerRequest:
        """The next request on the partner's queue, its broker signature verified."""
        assert self._channel is not None
        queue = await self._channel.get_queue(self._topology.request_queue(partner_id), ensure=True)
        broker_keys = key_set(json.loads(self._workspace.broker_jwks.read_text())["keys"])
        loop = asyncio.get_running_loop()
        stop = loop.time() + timeout
        while loop.time() < stop:
            message = await queue.get(no_ack=False, fail=False)
            if message is not None:
                await message.ack()
                envelope = json.loads(message.body)
                return PartnerRequest.model_validate(
                    verify(envelope["jws"], broker_keys, typ=REQUEST_JWS_TYP)
                )
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no request for {partner_id} within {timeout} s")

    @staticmethod
    def reply_payload(request: PartnerRequest, *, outcome: str = "no_trace", **extra: Any) -> dict[str, Any]:
        return {
            "request_id": request.request_id,
            "enquiry_id": request.enquiry_id,
            "partner_id": request.partner_id,
            "outcome": outcome,
            "replied_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            **extra,
        }

    def envelope(self, payload: dict[str, Any], *, signed_by: str) -> bytes:
        jws = self.key(signed_by).sign(payload, typ=REPLY_JWS_TYP) if signed_by else ""
        return json.dumps({"v": 1, "type": "mash.partner-reply", "jws": jws}).encode()

    async def send(self, body: bytes, *, message_id: str | None = None) -> None:
        assert self._channel is not None
        exchange = await self._channel.get_exchange(self._topology.replies_exchange, ensure=True)
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id=message_id or str(uuid.uuid4()),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                content_type="application/json",
            ),
            routing_key=REPLY_ROUTING_KEY,
            mandatory=True,
        )
