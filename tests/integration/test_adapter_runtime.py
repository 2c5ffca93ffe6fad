"""The adapter runtime (AdapterRunner), fed requests made and signed by the broker's own code
(`request_messages` with the workspace's broker key) over a real transport: InProcessTransport,
and for the redelivery and retry cases RabbitMQ too. The only thing written here is each partner's
search function, the port a partner implements."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
import pytest_asyncio

from adapters.sdk.bootstrap import build_runner
from adapters.sdk.config import AdapterSettings
from adapters.sdk.dedupe import AnsweredRequests
from adapters.sdk.messages import (
    REPLY_JWS_TYP,
    REPLY_TYPE,
    REQUEST_JWS_TYP,
    Answer,
    Finding,
    Match,
    PartnerBrag,
)
from adapters.sdk.runner import AdapterRunner, Search, nrp_filter
from adapters.sdk.signing import SigningKey, unverified_claims
from adapters.sdk.transport.base import Disposition, OutgoingMessage, Transport, Verdict
from adapters.sdk.transport.topology import Topology
from broker.adapters.dev_workspace import DevWorkspace
from broker.adapters.signing import BrokerSigner
from tests.integration.runtime_helpers import (
    KINDS,
    POLICE_CATEGORIES,
    Inbox,
    PartnerSearch,
    Recorded,
    Wire,
    broker_signer,
    death_reason,
    envelope,
    open_reply,
    partner_request,
    with_message_id,
)

pytestmark = pytest.mark.security

TOPOLOGY = Topology(partners=("police", "health"), delivery_limit=2)


@dataclass
class Partner:
    """The police adapter on a wire, and the broker's side of the same wire."""

    workspace: DevWorkspace
    wire: Wire
    broker: Transport
    replies: Inbox
    dead: Inbox
    search: PartnerSearch
    answered: AnsweredRequests | None = None
    runner: AdapterRunner | None = None
    handled: Recorded | None = None
    _adapter_transport: Transport | None = None

    async def start(
        self, search: Search | None = None, *, answered: AnsweredRequests | None = None
    ) -> AdapterRunner:
        """Build the runner as `mash-adapter run` does (build_runner) and consume the queue."""
        self._adapter_transport = await self.wire.client(declare=False, name="police")
        self.answered = answered or AnsweredRequests(self.workspace.partner_state("police"))
        self.runner = build_runner(
            "police",
            AdapterSettings(dev_dir=self.workspace.root, partner_id="police"),
            self._adapter_transport,
            search=search or self.search,
            answered=self.answered,
        )
        self.handled = Recorded(self.runner.handle)
        await self._adapter_transport.consume(TOPOLOGY.request_queue("police"), self.handled)
        return self.runner

    async def stop(self) -> None:
        """The adapter process going away: its connection and its dedupe database closed."""
        assert self._adapter_transport is not None and self.answered is not None
        await self._adapter_transport.close()
        self.answered.close()

    async def send(self, message: OutgoingMessage) -> None:
        await self.broker.publish(message)

    def verdicts(self) -> list[Verdict | Exception]:
        assert self.handled is not None
        return self.handled.verdicts()


async def _partner(kind: str, url: str | None, workspace: DevWorkspace) -> tuple[Partner, Wire]:
    wire = Wire(kind, TOPOLOGY, url)
    broker = await wire.client(declare=True, name="broker")
    replies, dead = Inbox(), Inbox()
    await broker.consume(TOPOLOGY.replies_queue, replies)
    await broker.consume(TOPOLOGY.dead_letter_queue, dead)
    return Partner(workspace, wire, broker, replies, dead, PartnerSearch()), wire


@pytest.fixture(name="kind_url", params=KINDS)
def _kind_url(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "amqp":
        return "amqp", request.getfixturevalue("amqp_url")
    return "inprocess", None


@pytest_asyncio.fixture(name="partner")
async def _partner_on_both(
    kind_url: tuple[str, str | None], workspace: DevWorkspace
) -> AsyncIterator[Partner]:
    """The police adapter over InProcessTransport and over RabbitMQ (fresh vhost)."""
    partner, wire = await _partner(*kind_url, workspace)
    try:
        yield partner
    finally:
        await wire.close()
        if partner.answered is not None:
            partner.answered.close()


@pytest_asyncio.fixture(name="local")
async def _partner_in_process(workspace: DevWorkspace) -> AsyncIterator[Partner]:
    """The police adapter over InProcessTransport only."""
    partner, wire = await _partner("inprocess", None, workspace)
    try:
        yield partner
    finally:
        await wire.close()
        if partner.answered is not None:
            partner.answered.close()


@pytest.fixture(name="signer")
def _signer(workspace: DevWorkspace) -> BrokerSigner:
    return broker_signer(workspace)


def finding(category: str, summary: str, reference: str = "REF-1") -> Finding:
    return Finding(
        category=category,
        date=dt.date(2026, 10, 1),
        summary=summary,
        source_system="Niche RMS",
        source_reference=reference,
        sos_domain="worry",
        match=Match(subject_ref="S1", method="name_dob_postcode", confidence=0.9),
    )


def reason(verdict: Verdict | Exception) -> str:
    assert isinstance(verdict, Verdict), verdict
    return verdict.reason


def jws_payload_text(body: bytes) -> str:
    """The signed payload of a reply, decoded without verifying (to look for what is absent)."""
    token = json.loads(body)["jws"]
    segment = token.split(".")[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode()


async def settled(partner: Partner, n: int, timeout: float = 20.0) -> list[Verdict | Exception]:
    assert partner.handled is not None
    return await partner.handled.wait_for(n, timeout=timeout)


# --------------------------------------------------------------------------- the happy path


async def test_valid_request_is_searched_once_and_answered_with_a_bound_signed_reply(
    partner: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """A valid broker request runs the partner's search once and publishes one reply, signed
    with the partner's key (typ mash-partner-reply+jws) as the agreement names it, bound to the
    request and enquiry ids, and only then acknowledges the request."""
    partner.search.answer = Answer.with_findings(
        [finding("police.domestic_abuse", "DA incident at the home address, DASH medium")],
        PartnerBrag(rating="amber", rationale="Recent domestic abuse at the address"),
    )
    runner = await partner.start()
    sent = partner_request(signer)
    await partner.send(sent.message)

    (message,) = await partner.replies.wait_for(1)
    reply = open_reply(workspace, message.body, "police")
    assert (reply.request_id, reply.enquiry_id, reply.partner_id) == (
        sent.request_id,
        sent.enquiry_id,
        "police",
    )
    assert reply.outcome == "findings" and [f.category for f in reply.findings] == [
        "police.domestic_abuse"
    ]
    assert reply.brag is not None and reply.brag.rating == "amber"
    header, _ = unverified_claims(json.loads(message.body)["jws"])
    police_key = SigningKey.from_pem_file(workspace.partner_key("police"), None)
    assert header == {"alg": "Ed25519", "typ": REPLY_JWS_TYP, "kid": police_key.kid}
    assert message.correlation_id == sent.request_id and message.message_type == REPLY_TYPE
    assert message.headers == {"enquiry_id": sent.enquiry_id, "partner_id": "police"}

    assert await settled(partner, 1) == [Verdict.ack()]
    (asked,) = partner.search.calls
    assert (asked.request_id, asked.enquiry_id, asked.partner_id) == (
        sent.request_id,
        sent.enquiry_id,
        "police",
    )
    assert (
        tuple(asked.categories) == POLICE_CATEGORIES
        and asked.subjects[0].family_name == "Testfield"
    )
    assert runner.searches_run == 1
    await asyncio.sleep(0.3)
    assert len(partner.replies.messages) == 1 and partner.dead.messages == []


# --------------------------------------------------------------------------- refused requests


async def test_a_forged_request_is_rejected_and_never_searched(
    local: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """A request signed by any key but the broker's (an unknown key, or a partner's own key)
    is rejected and dead-lettered, and the partner's search never runs."""
    await local.start()
    impostor = partner_request(BrokerSigner(SigningKey.generate()))
    by_partner = partner_request(
        BrokerSigner(SigningKey.from_pem_file(workspace.partner_key("police"), None))
    )
    await local.send(impostor.message)
    await local.send(by_partner.message)

    verdicts = await settled(local, 2)
    assert [v.disposition for v in verdicts] == [Disposition.REJECT] * 2  # type: ignore[union-attr]
    assert all("broker signature" in reason(v) for v in verdicts)
    letters = await local.dead.wait_for(2)
    assert {m.message_id for m in letters} == {
        impostor.message.message_id,
        by_partner.message.message_id,
    }
    assert {death_reason(m) for m in letters} == {"rejected"}
    assert local.search.calls == [] and local.replies.messages == []


async def test_a_request_past_its_deadline_is_rejected_and_never_searched(
    local: Partner, signer: BrokerSigner
) -> None:
    """A correctly signed request whose deadline has already passed is rejected (the adapter
    checks the signed deadline itself, whatever the transport's expiry) and nothing is searched."""
    await local.start()
    now = dt.datetime.now(dt.UTC)
    late = partner_request(
        signer, issued_at=now - dt.timedelta(hours=2), deadline_at=now - dt.timedelta(minutes=1)
    )
    # Without the transport's expiry, so only the adapter's own deadline check can stop it.
    await local.send(replace(late.message, expiration_s=None))

    (verdict,) = await settled(local, 1)
    assert isinstance(verdict, Verdict) and verdict.disposition is Disposition.REJECT
    assert "deadline has passed" in verdict.reason
    await local.dead.wait_for(1)
    assert local.search.calls == [] and local.replies.messages == []
    assert local.answered is not None and local.answered.count() == 0


async def test_a_request_addressed_to_another_partner_is_rejected(
    local: Partner, signer: BrokerSigner
) -> None:
    """A genuine broker request for another partner that lands on this partner's queue is
    rejected unanswered: the signed partner_id, not the routing, decides who answers."""
    await local.start()
    health = partner_request(signer, partner_id="health", categories=("health.gp_registration",))
    await local.send(replace(health.message, routing_key="police"))

    (verdict,) = await settled(local, 1)
    assert isinstance(verdict, Verdict) and verdict.disposition is Disposition.REJECT
    assert "another partner" in verdict.reason
    await local.dead.wait_for(1)
    assert local.search.calls == [] and local.replies.messages == []


@pytest.mark.parametrize(
    ("agreement", "categories", "why"),
    [
        pytest.param(
            ("housing-pilot", "1.0"),
            ("police.incidents",),
            "agreement housing-pilot v1.0 ended on 2024-12-31",
            id="agreement-ended",
        ),
        pytest.param(
            ("mash-tier2", "2.0"),
            ("police.incidents",),
            "unknown agreement mash-tier2 v2.0",
            id="unknown-version",
        ),
        pytest.param(
            ("mash-tier2", "3.0"),
            ("police.incidents", "health.camhs", "police.zzz"),
            "categories not allowed by the agreement: health.camhs, police.zzz",
            id="categories-outside-agreement",
        ),
    ],
)
async def test_a_request_outside_an_agreement_in_force_is_declined_without_searching(
    local: Partner,
    signer: BrokerSigner,
    workspace: DevWorkspace,
    agreement: tuple[str, str],
    categories: tuple[str, ...],
    why: str,
) -> None:
    """A request under an agreement not in force (ended, unknown) or asking for categories the
    agreement does not allow gets a signed 'declined' reply saying why; the search never runs."""
    await local.start()
    sent = partner_request(signer, agreement=agreement, categories=categories)
    await local.send(sent.message)

    (message,) = await local.replies.wait_for(1)
    reply = open_reply(workspace, message.body, "police")
    assert (reply.request_id, reply.enquiry_id) == (sent.request_id, sent.enquiry_id)
    assert reply.outcome == "declined" and reply.findings == [] and reply.brag is None
    assert reply.declined_reason == f"not covered by an agreement in force: {why}"
    assert await settled(local, 1) == [Verdict.ack()]
    assert local.search.calls == []


# --------------------------------------------------------------------------- redelivery


async def test_the_same_request_delivered_again_is_answered_from_the_dedupe_store(
    partner: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """The same request delivered again, with the same message id (a redelivery) or a new one
    (a republish), runs the search exactly once; every delivery publishes the identical reply
    body with the same reply message id."""
    await partner.start()
    sent = partner_request(signer)
    await partner.send(sent.message)
    await partner.replies.wait_for(1)
    await partner.send(sent.message)
    await partner.replies.wait_for(2)
    await partner.send(with_message_id(sent.message))
    replies = await partner.replies.wait_for(3)

    assert len(partner.search.calls) == 1
    assert len({m.body for m in replies}) == 1 and len({m.message_id for m in replies}) == 1
    assert open_reply(workspace, replies[0].body).request_id == sent.request_id
    assert await settled(partner, 3) == [Verdict.ack()] * 3
    assert partner.answered is not None and partner.answered.count() == 1


async def test_duplicates_queued_together_still_run_the_search_once(
    partner: Partner, signer: BrokerSigner
) -> None:
    """Copies of one request already waiting together in the queue (the relay republished it
    while the adapter was down) run the search exactly once and get the identical reply body,
    even though the runtime handles several deliveries concurrently."""
    sent = partner_request(signer)
    await partner.send(sent.message)
    await partner.send(sent.message)  # same message id: the relay's at-least-once republish
    await partner.send(with_message_id(sent.message))
    await partner.start()

    replies = await partner.replies.wait_for(3)
    await settled(partner, 3)
    searches, bodies = len(partner.search.calls), len({m.body for m in replies})
    assert (searches, bodies) == (1, 1), (
        f"one request ran the search {searches} times and got {bodies} different reply bodies"
    )


async def test_a_restarted_adapter_with_the_same_dedupe_file_does_not_search_again(
    local: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """After a restart (new transport, new runner, new AnsweredRequests on the same file) a
    request answered before is answered again from the file, byte for byte, with no new search."""
    await local.start()
    sent = partner_request(signer)
    await local.send(sent.message)
    (first,) = await local.replies.wait_for(1)
    await local.stop()

    after_restart = PartnerSearch()
    runner = await local.start(
        after_restart, answered=AnsweredRequests(workspace.partner_state("police"))
    )
    await local.send(with_message_id(sent.message))
    second = (await local.replies.wait_for(2))[1]
    assert after_restart.calls == [] and runner.searches_run == 0 and len(local.search.calls) == 1
    assert (second.body, second.message_id) == (first.body, first.message_id)
    assert await settled(local, 1) == [Verdict.ack()]


# --------------------------------------------------------------------------- NRP


async def test_findings_outside_the_requested_categories_never_leave_the_adapter(
    local: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """Only findings in the categories asked for are signed and sent; others (even ones the
    agreement allows) are dropped before signing, the rest of the answer kept as it was."""
    brag = PartnerBrag(rating="red", rationale="MARAC referral this month")
    local.search.answer = Answer.with_findings(
        [
            finding("police.marac", "MARAC referral for the mother", "MARAC-1"),
            finding("police.arrests", "ARREST-NOT-ASKED-FOR uncle", "ARR-9"),
            finding("health.camhs", "CAMHS-NOT-POLICE-DATA", "CAMHS-2"),
            finding("police.incidents", "Concern for welfare call", "INC-3"),
        ],
        brag,
    )
    await local.start()
    sent = partner_request(signer, categories=("police.incidents", "police.marac"))
    await local.send(sent.message)

    (message,) = await local.replies.wait_for(1)
    reply = open_reply(workspace, message.body)
    assert [(f.category, f.source_reference) for f in reply.findings] == [
        ("police.marac", "MARAC-1"),
        ("police.incidents", "INC-3"),
    ]
    assert reply.outcome == "findings" and reply.brag == brag
    for secret in (
        "ARREST-NOT-ASKED-FOR",
        "CAMHS-NOT-POLICE-DATA",
        "ARR-9",
        "CAMHS-2",
        "police.arrests",
    ):
        assert secret not in jws_payload_text(message.body) and secret.encode() not in message.body
    assert local.answered is not None
    stored = local.answered.get(sent.request_id)
    assert stored is not None and stored[0] == message.body  # what is kept is what was sent


async def test_an_answer_whose_findings_are_all_filtered_becomes_no_trace(
    local: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """When every finding lies outside the requested categories the reply is no_trace, with no
    findings and no BRAG rating (which would otherwise hint at what was held)."""
    held = Answer.with_findings(
        [finding("police.arrests", "ARREST-NOT-ASKED-FOR")],
        PartnerBrag(rating="red", rationale="RATIONALE-ABOUT-ARRESTS"),
    )
    local.search.answer = held
    await local.start()
    sent = partner_request(signer, categories=("police.incidents",))
    await local.send(sent.message)

    (message,) = await local.replies.wait_for(1)
    reply = open_reply(workspace, message.body)
    assert reply.outcome == "no_trace" and reply.findings == [] and reply.brag is None
    assert "ARREST" not in jws_payload_text(message.body)
    assert nrp_filter(held, ["police.incidents"]) == Answer.no_trace()
    assert nrp_filter(Answer.declined("sealed"), ["police.incidents"]) == Answer.declined("sealed")


# --------------------------------------------------------------------------- failures


async def test_a_search_that_raises_is_retried_and_nothing_is_stored_or_sent(
    partner: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """A search that raises leaves the request unacknowledged (RETRY, not ACK): nothing is
    stored in the dedupe file and no reply is sent for that attempt; the redelivery searches
    again and is answered once."""
    seen_at_retry: list[tuple[int, int]] = []

    def before(_request: object) -> None:
        assert partner.answered is not None
        seen_at_retry.append((partner.answered.count(), len(partner.replies.messages)))

    partner.search.failures = 1
    partner.search.before = before
    await partner.start()
    sent = partner_request(signer)
    await partner.send(sent.message)

    (message,) = await partner.replies.wait_for(1, timeout=60)
    outcomes = await settled(partner, 2)
    assert isinstance(outcomes[0], RuntimeError) and outcomes[1] == Verdict.ack()
    assert partner.handled is not None
    assert [m.redelivered for m, _ in partner.handled.outcomes] == [False, True]
    assert seen_at_retry == [(0, 0), (0, 0)]  # the failed attempt left no trace
    assert (
        len(partner.search.calls) == 2
        and partner.runner is not None
        and partner.runner.searches_run == 1
    )
    assert open_reply(workspace, message.body).request_id == sent.request_id
    assert partner.answered is not None and partner.answered.count() == 1


async def test_a_search_that_always_raises_ends_dead_lettered_and_unanswered(
    local: Partner, signer: BrokerSigner
) -> None:
    """A search that keeps failing is retried up to the delivery limit, then the request is
    dead-lettered; no reply is ever sent and nothing is stored."""
    local.search.failures = math.inf
    await local.start()
    sent = partner_request(signer)
    await local.send(sent.message)

    (letter,) = await local.dead.wait_for(1, timeout=30)
    assert letter.message_id == sent.message.message_id and death_reason(letter) == "delivery_limit"
    assert local.handled is not None
    assert all(isinstance(v, RuntimeError) for v in local.verdicts())
    assert len(local.search.calls) == len(local.handled.outcomes) >= 2
    assert local.replies.messages == []
    assert local.answered is not None and local.answered.count() == 0


async def test_malformed_envelopes_are_rejected_without_crashing(
    local: Partner, signer: BrokerSigner, workspace: DevWorkspace
) -> None:
    """Bodies that are not JSON, not an envelope, of the wrong type or version, without a JWS, with
    a JWS that is garbage, of the wrong typ, or signed but not a valid request are each rejected
    with a reason and dead-lettered; the adapter keeps answering valid requests."""
    await local.start()
    good = partner_request(signer)
    good_jws = json.loads(good.message.body)["jws"]
    payload = json.loads(jws_payload_text(good.message.body))
    no_subjects = {k: v for k, v in payload.items() if k != "subjects"}
    bad = {
        "not-json": (b"\x00{not json", "malformed envelope"),
        "json-array": (b"[1, 2, 3]", "malformed envelope"),
        "empty": (b"", "malformed envelope"),
        "wrong-type": (
            envelope(v=1, type="mash.partner-reply", jws=good_jws),
            "expected a mash.partner-request",
        ),
        "unknown-type": (envelope(v=1, type="mash.other", jws=good_jws), "malformed envelope"),
        "wrong-version": (
            envelope(v=2, type="mash.partner-request", jws=good_jws),
            "malformed envelope",
        ),
        "missing-jws": (envelope(v=1, type="mash.partner-request"), "malformed envelope"),
        "extra-field": (
            envelope(v=1, type="mash.partner-request", jws=good_jws, x=1),
            "malformed envelope",
        ),
        "garbage-jws": (
            envelope(v=1, type="mash.partner-request", jws="not-a.jws-at.all"),
            "broker signature",
        ),
        "reply-typ": (
            envelope(v=1, type="mash.partner-request", jws=signer.sign(payload, typ=REPLY_JWS_TYP)),
            "broker signature",
        ),
        "bad-schema": (
            envelope(
                v=1, type="mash.partner-request", jws=signer.sign(no_subjects, typ=REQUEST_JWS_TYP)
            ),
            "request schema",
        ),
    }
    for name, (body, _) in bad.items():
        await local.send(replace(good.message, body=body, message_id=f"bad-{name}"))
    await local.send(good.message)

    await local.replies.wait_for(1)
    await settled(local, len(bad) + 1)
    assert local.handled is not None
    by_id = {m.message_id: v for m, v in local.handled.outcomes}
    for name, (_, expected) in bad.items():
        verdict = by_id[f"bad-{name}"]
        assert isinstance(verdict, Verdict) and verdict.disposition is Disposition.REJECT, (
            name,
            verdict,
        )
        assert expected in verdict.reason, (name, verdict.reason)
    assert by_id[good.message.message_id] == Verdict.ack()
    letters = await local.dead.wait_for(len(bad))
    assert {m.message_id for m in letters} == {f"bad-{n}" for n in bad}
    assert [c.request_id for c in local.search.calls] == [good.request_id]
    assert len(local.replies.messages) == 1
