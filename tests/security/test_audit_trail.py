"""The audit trail of a real enquiry: every gate decision, request, reply, summary issued and
read, and every denial is an event; checkpoints are signed and travel in summaries; the
`audit verify` command finds an edited event at its index."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapters.sdk.signing import key_set, verify
from broker.adapters.dev_workspace import DevWorkspace
from broker.config import Settings
from broker.entrypoints.api.app import create_app
from broker.entrypoints.demo import scenario_enquiry
from broker.service.audit import CHECKPOINT_TYP
from tests.conftest import bearer
from tests.e2e.processes import env_with, run

pytestmark = pytest.mark.security


def wait_summary(client: TestClient, enquiry_id: str, headers: dict) -> None:
    for _ in range(400):
        if client.get(f"/enquiries/{enquiry_id}", headers=headers).json()["summaries"]:
            return
        time.sleep(0.05)
    raise AssertionError("no summary")


def test_an_enquiry_leaves_a_complete_audit_trail_and_checkpoints_travel_in_summaries(
    workspace: DevWorkspace, sqlite_url: str, tmp_path: Path
) -> None:
    """Opening, gates, requests, replies, summary issued and read, and a denial are audit
    events with actor, UTC time, outcome and reason; a signed checkpoint of the log is in
    the next summary; auditors read the log, managers may not; `audit verify` passes, and
    after one event is edited in the database it fails at that event's index."""
    manager, officer, auditor = (bearer(workspace, "mash_manager", sub="m.manager"),
                                 bearer(workspace, "screening_officer", sub="s.officer"),
                                 bearer(workspace, "auditor", sub="a.auditor"))
    settings = Settings(dev_dir=workspace.root, database_url=sqlite_url, relay_poll_s=0.05, sweep_interval_s=0.2)
    with TestClient(create_app(settings)) as client:
        first = client.post("/enquiries", json=scenario_enquiry("police_only"), headers=manager).json()
        wait_summary(client, first["enquiry_id"], manager)
        assert client.get(f"/enquiries/{first['enquiry_id']}/summary", headers=manager).status_code == 200
        assert client.get(f"/enquiries/{first['enquiry_id']}", headers=officer).status_code == 404
        assert client.get("/audit", headers=manager).status_code == 403
        time.sleep(0.6)  # the sweeper signs a checkpoint
        second = client.post("/enquiries", json=scenario_enquiry("no_trace"), headers=manager).json()
        wait_summary(client, second["enquiry_id"], manager)
        summary = client.get(f"/enquiries/{second['enquiry_id']}/summary", headers=manager).json()["payload"]
        log = client.get("/audit", headers=auditor, params={"limit": 1000}).json()
        jwks = client.get("/.well-known/jwks.json").json()

    events = log["events"]
    assert [e["index"] for e in events] == list(range(len(events)))
    mine = [e for e in events if e["enquiry_id"] == first["enquiry_id"]]
    actions = [e["action"] for e in mine]
    assert actions[:2] == ["enquiry.opened", "gate.consent"]
    assert actions.count("gate.agreement") == 5 and actions.count("request.issued") == 3
    assert actions.count("reply.recorded") == 3 and "summary.issued" in actions and "summary.read" in actions
    consent = next(e for e in mine if e["action"] == "gate.consent")
    assert consent["outcome"] == "passed" and "UK-GDPR-6(1)(e)" in consent["reason"]
    assert next(e for e in mine if e["action"] == "summary.read")["actor"] == "m.manager"
    denials = [e for e in events if e["action"] == "access.denied"]
    assert {(e["actor"], e["outcome"]) for e in denials} == {("s.officer", "http_404"), ("m.manager", "http_403")}
    assert all(e["at"] for e in events)

    checkpoint = summary["audit_checkpoint"]
    assert checkpoint is not None and checkpoint["size"] > len(mine)
    signed = verify(checkpoint["jws"], key_set(jwks["keys"]), typ=CHECKPOINT_TYP)
    assert signed["root"] == checkpoint["root"] and signed["size"] == checkpoint["size"]
    assert summary["audit_checkpoint"]["root"] == events[checkpoint["size"] - 1]["root_after"]

    env = env_with(MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=sqlite_url)
    held = tmp_path / "held.jws"
    held.write_text(checkpoint["jws"])
    clean = run(["mash-broker", "audit", "verify", "--checkpoint", str(held)], env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    edited = 3
    with sqlite3.connect(sqlite_url.split("///", 1)[1]) as db:
        db.execute('UPDATE audit_events SET outcome = ? WHERE "index" = ?', ("refused", edited))
    tampered = run(["mash-broker", "audit", "verify", "--checkpoint", str(held)], env)
    report = json.loads(tampered.stdout)
    assert tampered.returncode == 1 and report["ok"] is False and report["first_bad_index"] == edited
