"""The adapter runtime: everything a partner agency does not have to write.

For each request: check the envelope, verify the broker's signature, validate,
check it is addressed to us, under an agreement in force, before its deadline;
answer from the dedupe store if already answered; otherwise run the partner's
search, keep only the categories asked for (NRP), sign and publish the reply,
and only then acknowledge.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from zoneinfo import ZoneInfo

import pydantic
import structlog
from joserfc.jwk import KeySet

from adapters.sdk.dedupe import AnsweredRequests
from adapters.sdk.messages import (
    REPLY_JWS_TYP,
    REPLY_TYPE,
    REQUEST_JWS_TYP,
    REQUEST_TYPE,
    WIRE_VERSION,
    Answer,
    Envelope,
    PartnerRequest,
)
from adapters.sdk.signing import SignatureInvalid, SigningKey, verify
from adapters.sdk.transport.base import (
    IncomingMessage,
    OutgoingMessage,
    PublishRefused,
    Transport,
    Verdict,
)
from adapters.sdk.transport.topology import REPLY_ROUTING_KEY
from agreements.model import Agreement
from agreements.policy import request_is_covered

log = structlog.get_logger("mash.adapter")

Search = Callable[[PartnerRequest], Awaitable[Answer]]

# Agreements are dated in UK local time, as on the broker's side.
UK = ZoneInfo("Europe/London")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _errors(error: pydantic.ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])


def nrp_filter(answer: Answer, categories: Sequence[str]) -> Answer:
    """Drop findings outside the categories asked for; nothing left means no trace."""
    if answer.outcome != "findings":
        return answer
    allowed = set(categories)
    kept = [f for f in answer.findings if f.category in allowed]
    if not kept:
        return Answer.no_trace()
    if len(kept) == len(answer.findings):
        return answer
    assert answer.brag is not None
    return Answer.with_findings(kept, answer.brag)


class AdapterRunner:
    def __init__(
        self,
        *,
        partner_id: str,
        search: Search,
        signing_key: SigningKey,
        broker_keys: KeySet,
        agreements: Sequence[Agreement],
        transport: Transport,
        answered: AnsweredRequests,
        clock: Callable[[], dt.datetime] = _utcnow,
        amqp_user: str | None = None,
    ) -> None:
        self.partner_id = partner_id
        self._search = search
        self._key = signing_key
        self._broker_keys = broker_keys
        self._agreements = tuple(agreements)
        self._transport = transport
        self._answered = answered
        self._clock = clock
        self._amqp_user = amqp_user  # stamped as user_id; RabbitMQ checks it is ours
        self.searches_run = 0
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def handle(self, message: IncomingMessage) -> Verdict:
        try:
            envelope = Envelope.model_validate_json(message.body)
        except pydantic.ValidationError as error:
            return self._refuse(message, f"malformed envelope: {_errors(error)}")
        if envelope.type != REQUEST_TYPE:
            return self._refuse(message, f"expected a {REQUEST_TYPE}")
        try:
            payload = verify(envelope.jws, self._broker_keys, typ=REQUEST_JWS_TYP)
        except SignatureInvalid as error:
            return self._refuse(message, f"broker signature: {error}")
        try:
            request = PartnerRequest.model_validate(payload)
        except pydantic.ValidationError as error:
            return self._refuse(message, f"request schema: {_errors(error)}")
        if request.partner_id != self.partner_id:
            return self._refuse(message, "request addressed to another partner")

        # Copies of one request can be handled concurrently (an at-least-once publish, a
        # chase): one at a time per request id, so the search runs once.
        lock, users = self._locks.get(request.request_id, (asyncio.Lock(), 0))
        self._locks[request.request_id] = (lock, users + 1)
        try:
            async with lock:
                return await self._answer(message, request)
        finally:
            lock, users = self._locks[request.request_id]
            if users == 1:
                del self._locks[request.request_id]
            else:
                self._locks[request.request_id] = (lock, users - 1)

    async def _answer(self, message: IncomingMessage, request: PartnerRequest) -> Verdict:
        stored = self._answered.get(request.request_id)
        if stored is not None:
            body, reply_message_id = stored
            return await self._send(request, body, reply_message_id, replay=True)

        now = self._clock()
        if request.deadline <= now:
            return self._refuse(message, "deadline has passed", request_id=request.request_id)
        not_covered = request_is_covered(
            self._agreements,
            agreement_id=request.agreement_id,
            agreement_version=request.agreement_version,
            partner_id=self.partner_id,
            purpose=request.purpose,
            categories=request.categories,
            day=now.astimezone(UK).date(),
        )
        if not_covered is not None:
            answer = Answer.declined(f"not covered by an agreement in force: {not_covered}")
        else:
            try:
                remaining = (request.deadline - now).total_seconds()
                answer = await asyncio.wait_for(self._search(request), timeout=remaining)
                self.searches_run += 1
                log.info("search_completed", request_id=request.request_id, outcome=answer.outcome)
            except TimeoutError:
                return self._refuse(message, "search did not finish before the deadline",
                                    request_id=request.request_id)
            answer = nrp_filter(answer, request.categories)
        body = self._signed_reply(request, answer)
        reply_message_id = str(uuid.uuid4())
        self._answered.put(request.request_id, message.message_id, body, reply_message_id)
        return await self._send(request, body, reply_message_id, replay=False)

    def _signed_reply(self, request: PartnerRequest, answer: Answer) -> bytes:
        payload = {
            **answer.model_dump(mode="json", exclude_none=True),
            "request_id": request.request_id,
            "enquiry_id": request.enquiry_id,
            "partner_id": self.partner_id,
            "replied_at": self._clock().isoformat().replace("+00:00", "Z"),
        }
        jws = self._key.sign(payload, typ=REPLY_JWS_TYP)
        return json.dumps({"v": WIRE_VERSION, "type": REPLY_TYPE, "jws": jws}).encode()

    async def _send(self, request: PartnerRequest, body: bytes, message_id: str, *, replay: bool) -> Verdict:
        try:
            await self._transport.publish(
                OutgoingMessage(
                    exchange="replies",
                    routing_key=REPLY_ROUTING_KEY,
                    body=body,
                    message_id=message_id,
                    correlation_id=request.request_id,
                    message_type=REPLY_TYPE,
                    headers={"enquiry_id": request.enquiry_id, "partner_id": self.partner_id},
                    user_id=self._amqp_user,
                )
            )
        except PublishRefused as error:
            log.warning("reply_publish_failed", request_id=request.request_id, error=str(error))
            return Verdict.retry("reply not confirmed")
        log.info("request_answered", request_id=request.request_id,
                 enquiry_id=request.enquiry_id, replay=replay)
        return Verdict.ack()

    def _refuse(self, message: IncomingMessage, reason: str, **ids: str) -> Verdict:
        log.warning("request_refused", message_id=message.message_id, reason=reason, **ids)
        return Verdict.reject(reason)
