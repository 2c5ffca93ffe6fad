"""Delivery channels beyond the queue, on the real RabbitMQ and SQLite: a webhook retried with
exponential backoff against a real local HTTP server that fails first; the HTTP API for the
manager and for services (own views only, receipts); and `mash-receiver` as a separate process."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.sdk.signing import SigningKey, key_set, verify
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.domain.decision import Outcome
from broker.entrypoints.api.app import create_app
from tests.conftest import bearer
from tests.e2e.processes import BIN, env_with, free_port, run
from tests.integration.delivery_helpers import (
    RECEIPT_JWS_TYP,
    VIEW_JWS_TYP,
    assert_view_is_safe,
    closed_enquiry,
    contact_for,
    decision_on,
    signed_receipt,
    take_service_view,
)
from tests.integration.helpers import eventually
from tests.integration.partner import PartnerDriver
from tests.integration.test_deliveries import make_settings, views_of

pytestmark = pytest.mark.integration


def with_webhook(workspace: DevWorkspace, service_id: str, url: str) -> None:
    path = workspace.recipients_dir / f"{service_id}.json"
    document = json.loads(path.read_text())
    document["channels"]["webhook"] = {"url": url, "timeout_s": 5}
    path.write_text(json.dumps(document))


class FlakyService:
    """A receiving service's webhook: 503 for the first `failures` POSTs, then 200 with a
    receipt signed by the service's key."""

    def __init__(self, key: SigningKey, service_id: str, jwks: dict[str, Any], failures: int) -> None:
        self.key, self.service_id, self.jwks, self.failures = key, service_id, jwks, failures
        self.attempts: list[tuple[float, dict[str, str]]] = []

    async def endpoint(self, request: Request) -> Response:
        body = (await request.body()).decode("ascii")
        self.attempts.append((time.monotonic(), dict(request.headers)))
        if len(self.attempts) <= self.failures:
            return Response("try later", status_code=503)
        payload = verify(body, key_set(self.jwks["keys"]), typ=VIEW_JWS_TYP)
        receipt = self.key.sign({
            "type": "mash.service-receipt", "view_id": payload["view_id"], "service_id": self.service_id,
            "view_sha256": hashlib.sha256(body.encode("ascii")).hexdigest(),
            "received_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        }, typ=RECEIPT_JWS_TYP)
        return Response(receipt, media_type="application/jose")


@contextlib.asynccontextmanager
async def serving(app: Starlette, port: int) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def test_webhook_is_retried_with_backoff_until_it_answers_with_a_receipt(
    workspace: DevWorkspace, sqlite_url: str, amqp_url: str
) -> None:
    """A webhook that answers 503 twice is tried again after the base delay, then after twice
    that; the third POST carries the view's JWS, gets a 200 with the service's signed receipt, and
    the view is shown acknowledged through the webhook, with the attempts counted."""
    port = free_port()
    with_webhook(workspace, "early-help", f"http://127.0.0.1:{port}/views")
    key = SigningKey.from_pem_file(workspace.service_key("early-help"), None)
    broker = build_broker(make_settings(workspace, sqlite_url, amqp_url, webhook_backoff_base_s=0.6))
    service = FlakyService(key, "early-help", broker.signer.jwks(), failures=2)
    app = Starlette(routes=[Route("/views", service.endpoint, methods=["POST"])])
    await broker.start()
    try:
        async with serving(app, port), PartnerDriver(amqp_url, workspace, broker.topology) as partner:
            enquiry_id, summary = await closed_enquiry(broker, partner)
            decision = decision_on(enquiry_id, summary, Outcome.EARLY_HELP)
            [view_id] = await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]

            async def acknowledged() -> bool:
                return (await views_of(broker, decision.decision_id))[0].status == "acknowledged"

            await eventually(acknowledged, timeout=20)
        [view] = await views_of(broker, decision.decision_id)
        assert view.ack_channel == "webhook" and view.webhook_state == "delivered"
        assert view.webhook_attempts == 3 and view.webhook_last_error is None
        times = [t for t, _ in service.attempts]
        assert len(times) == 3
        assert times[1] - times[0] >= 0.6 - 0.05, times
        assert times[2] - times[1] >= 1.2 - 0.05, times
        assert [h["x-mash-attempt"] for _, h in service.attempts] == ["1", "2", "3"]
        assert all(h["x-mash-view-id"] == view_id for _, h in service.attempts)
        # The queue got the same view too (the queue is always a channel).
        jws, _ = await take_service_view(amqp_url, "early-help")
        assert_view_is_safe(jws, broker.signer.jwks(), service_id="early-help")
    finally:
        await broker.stop()


async def test_webhook_refusing_for_good_is_not_retried(
    workspace: DevWorkspace, sqlite_url: str, amqp_url: str
) -> None:
    """A 4xx that retrying cannot fix (403) marks the webhook failed after one attempt, with the
    reason; the view still waits for its receipt through the queue."""
    port = free_port()
    with_webhook(workspace, "supporting-families", f"http://127.0.0.1:{port}/views")
    hits: list[int] = []

    async def refuse(_: Request) -> Response:
        hits.append(1)
        return Response("no", status_code=403)

    broker = build_broker(make_settings(workspace, sqlite_url, amqp_url, webhook_backoff_base_s=0.2))
    await broker.start()
    try:
        async with serving(Starlette(routes=[Route("/views", refuse, methods=["POST"])]), port), \
                PartnerDriver(amqp_url, workspace, broker.topology) as partner:
            enquiry_id, summary = await closed_enquiry(broker, partner)
            decision = decision_on(enquiry_id, summary, Outcome.SUPPORTING_FAMILIES)
            await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]

            async def failed() -> bool:
                return (await views_of(broker, decision.decision_id))[0].webhook_state == "failed"

            await eventually(failed)
            await asyncio.sleep(1.0)  # several sweeps: no further attempt
        [view] = await views_of(broker, decision.decision_id)
        assert len(hits) == 1 and view.webhook_attempts == 1 and view.webhook_last_error == "HTTP 403"
        assert view.status in ("pending", "delivered")
    finally:
        await broker.stop()


@pytest_asyncio.fixture(name="broker")
async def _broker(workspace: DevWorkspace, sqlite_url: str, amqp_url: str) -> AsyncIterator[Broker]:
    broker = build_broker(make_settings(workspace, sqlite_url, amqp_url))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def test_http_api_shows_deliveries_to_managers_and_each_service_only_its_own(
    broker: Broker, workspace: DevWorkspace, amqp_url: str
) -> None:
    """GET /deliveries lists every view for a manager or an auditor (403 for a service);
    GET /services/{id}/views gives a service its own signed views (the read is audited) and 404 to
    any other service; a receipt POSTed by the
    service acknowledges its view, one POSTed for another service's view is 404 and recorded, and a
    forged one is 422 with the reason."""
    async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
        enquiry_id, summary = await closed_enquiry(broker, partner)
    eh = decision_on(enquiry_id, summary, Outcome.EARLY_HELP)
    [eh_view] = await broker.deliveries.deliver_decision(eh, contact_for(eh))  # type: ignore[union-attr]
    sf = decision_on(enquiry_id, summary, Outcome.SUPPORTING_FAMILIES)
    [sf_view] = await broker.deliveries.deliver_decision(sf, contact_for(sf))  # type: ignore[union-attr]

    manager = bearer(workspace, "mash_manager")
    early_help = bearer(workspace, "service:early-help", sub="early-help.system")
    families = bearer(workspace, "service:supporting-families", sub="sf.system")
    transport = httpx.ASGITransport(app=create_app(broker=broker))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        listing = (await client.get("/deliveries", headers=manager)).json()["items"]
        assert {(r["view_id"], r["service_id"]) for r in listing} == {
            (eh_view, "early-help"), (sf_view, "supporting-families")}
        assert (await client.get("/deliveries", headers=early_help)).status_code == 403
        auditor = bearer(workspace, "auditor", sub="an.auditor")
        assert len((await client.get("/deliveries", headers=auditor)).json()["items"]) == 2

        own = await client.get("/services/early-help/views", headers=early_help)
        assert own.status_code == 200
        [item] = own.json()["items"]
        assert item["view_id"] == eh_view
        assert_view_is_safe(item["jws"], broker.signer.jwks(), service_id="early-help")
        assert (await client.get("/services/supporting-families/views", headers=early_help)).status_code == 404
        assert (await client.get("/services/early-help/views", headers=manager)).status_code == 404

        sf_jws = (await client.get("/services/supporting-families/views", headers=families)).json()["items"][0]["jws"]
        stolen = await client.post(f"/deliveries/{sf_view}/receipt", headers=early_help,
                                   content=signed_receipt(workspace, sf_jws, service_id="early-help"))
        assert stolen.status_code == 404
        forged = await client.post(f"/deliveries/{eh_view}/receipt", headers=early_help,
                                   content=signed_receipt(workspace, item["jws"], service_id="early-help",
                                                          signed_by="childrens-social-care"))
        assert forged.status_code == 422 and "does not verify with early-help's key" in forged.json()["detail"]
        assert (await client.post(f"/deliveries/{eh_view}/receipt", headers=manager, content="x")).status_code == 403

        good = signed_receipt(workspace, item["jws"], service_id="early-help")
        first = await client.post(f"/deliveries/{eh_view}/receipt", headers=early_help, content=good)
        again = await client.post(f"/deliveries/{eh_view}/receipt", headers=early_help, content=good)
        assert first.json() == {"view_id": eh_view, "outcome": "acknowledged"}
        assert again.json() == {"view_id": eh_view, "outcome": "duplicate"}
        statuses = {r["view_id"]: r["status"]
                    for r in (await client.get("/deliveries", headers=manager)).json()["items"]}
        assert statuses[eh_view] == "acknowledged" and statuses[sf_view] != "acknowledged"
        assert [r["view_id"] for r in (await client.get(
            "/deliveries?status=acknowledged", headers=manager)).json()["items"]] == [eh_view]
        assert [r["view_id"] for r in (await client.get(
            "/deliveries?status=acknowledged&limit=1&service_id=supporting-families",
            headers=manager)).json()["items"]] == []
        others = (await client.get("/deliveries?status=delivered", headers=manager)).json()["items"]
        others += (await client.get("/deliveries?status=pending", headers=manager)).json()["items"]
        assert [(r["view_id"], r["status"]) for r in others] == [(sf_view, statuses[sf_view])]
    async with broker.uow() as uow:
        rejected = await uow.deliveries.receipt_rejections()
    assert sorted(r["channel"] for r in rejected) == ["http", "http"]
    reads = [e for e in await broker.views.audit_events(after=-1, limit=1000) if e["action"] == "views.read"]
    assert {(e["actor"], tuple(e["details"]["view_ids"])) for e in reads} == {
        ("early-help.system", (eh_view,)), ("sf.system", (sf_view,))}


async def test_mash_receiver_takes_in_verifies_stores_once_and_acknowledges(
    broker: Broker, workspace: DevWorkspace, amqp_url: str, tmp_path: Path
) -> None:
    """`mash-receiver run`, a separate process on the service's own queue, verifies the view against
    the broker's JWKS file, stores it, and its signed receipt marks the view acknowledged; a re-sent
    copy is stored once; `mash-receiver show` lists the view by id, without content."""
    async with PartnerDriver(amqp_url, workspace, broker.topology) as partner:
        enquiry_id, summary = await closed_enquiry(broker, partner)
    decision = decision_on(enquiry_id, summary, Outcome.EARLY_HELP)
    [view_id] = await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
    # A second copy of the same view, as a re-send would publish it.
    async with broker.uow() as uow:
        [view] = await uow.deliveries.for_decision(decision.decision_id)
        from broker.service.deliveries import _message

        await uow.outbox.add([_message(view_id, "early-help", view.jws, message_id="copy-2", send=2)],
                             now=broker.clock.now(), expires_at=None)
        await uow.commit()
    db = tmp_path / "receiver.sqlite3"
    log = tmp_path / "receiver.log"
    args = [str(BIN / "mash-receiver"), "run", "--service", "early-help", "--amqp-url", amqp_url,
            "--jwks", str(workspace.broker_jwks), "--key", str(workspace.service_key("early-help")),
            "--db", str(db), "--exit-after", "1"]
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env_with(), stdout=out, stderr=out)

        async def acknowledged() -> bool:
            return (await views_of(broker, decision.decision_id))[0].status == "acknowledged"

        try:
            await eventually(acknowledged, timeout=30)
            await eventually(lambda: _async(process.poll() is not None), timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
    output = log.read_text()
    assert process.returncode == 0, output
    assert "Ms Jo Referrer" not in output and "Attendance" not in output  # ids only
    [view] = await views_of(broker, decision.decision_id)
    assert view.ack_channel == "amqp"
    shown = run(["mash-receiver", "show", "--db", str(db), "--json"], env_with())
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [r["view_id"] for r in rows] == [view_id] and rows[0]["decision_outcome"] == "early_help"
    assert rows[0]["view_sha256"] == view.jws_sha256


async def _async(value: bool) -> bool:
    return value


def test_receiver_refuses_a_view_for_another_service_or_signed_by_another_key(workspace: DevWorkspace) -> None:
    """The receiver's checks: a view addressed to another service, or signed by a key not in the
    broker's JWKS, is refused; the wire names match the broker's."""
    from broker.service import deliveries as broker_side
    from receiver import wire
    from receiver.core import ViewRefused, verify_view

    assert (wire.VIEW_JWS_TYP, wire.RECEIPT_JWS_TYP) == (broker_side.VIEW_JWS_TYP, broker_side.RECEIPT_JWS_TYP)
    broker_key = SigningKey.from_pem_file(workspace.broker_key, None)
    jwks = json.loads(workspace.broker_jwks.read_text())
    view = {"type": "mash.service-view", "view_id": "v1", "service_id": "supporting-families"}
    with pytest.raises(ViewRefused, match="another service"):
        verify_view(broker_key.sign(view, typ=VIEW_JWS_TYP), jwks, service_id="early-help")
    with pytest.raises(ViewRefused, match="does not verify"):
        verify_view(SigningKey.generate().sign({**view, "service_id": "early-help"}, typ=VIEW_JWS_TYP),
                    jwks, service_id="early-help")
    assert verify_view(broker_key.sign({**view, "service_id": "early-help"}, typ=VIEW_JWS_TYP), jwks,
                       service_id="early-help").view_id == "v1"
