"""End to end: `mash-broker serve` and `mash-adapter run` as separate processes talking over
HTTP and RabbitMQ (or, on the embedded default, one process with SQLite), checked only
through the public API and the `verify` command, as a manager and a receiving service would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from broker.adapters.dev_workspace import DevWorkspace
from broker.entrypoints.demo import scenario_enquiry
from tests.conftest import bearer
from tests.e2e.processes import env_with, free_port, run, started, wait_closed, wait_ready

pytestmark = pytest.mark.e2e

EXPECTED = {
    "all_sources_high_risk": {"police": "findings", "health": "findings", "education": "findings"},
    "no_trace": {"police": "no_trace", "health": "no_trace", "education": "no_trace"},
    "police_only": {"police": "findings", "health": "no_trace", "education": "no_trace"},
}


@pytest.fixture(name="amqp_stack")
def _amqp_stack(workspace: DevWorkspace, pg_url: str, amqp_url: str, tmp_path: Path) -> Iterator[str]:
    """Broker API process plus three adapter processes on RabbitMQ and PostgreSQL."""
    port = free_port()
    env = env_with(
        MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=pg_url, MASH_AMQP_URL=amqp_url
    )
    with ExitStack() as stack:
        broker = stack.enter_context(
            started(["mash-broker", "serve", "--port", str(port)], env, tmp_path / "broker.log")
        )
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, broker)
        for name in ("police", "health", "education"):
            stack.enter_context(started(["mash-adapter", "run", name], env, tmp_path / f"{name}.log"))
        yield base


@pytest.fixture(name="embedded_stack")
def _embedded_stack(workspace: DevWorkspace, tmp_path: Path) -> Iterator[str]:
    """The embedded default: one process, SQLite file, in-process transport and adapters."""
    port = free_port()
    env = env_with(
        MASH_DEV_DIR=str(workspace.root),
        MASH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'embedded.sqlite3'}",
    )
    assert run(["mash-broker", "migrate"], env).returncode == 0
    with started(["mash-broker", "serve", "--port", str(port)], env, tmp_path / "broker.log") as broker:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, broker)
        yield base


def personal_data(scenario: str) -> set[str]:
    """Every name, date of birth, identifier, address and postcode the enquiry carries."""
    values: set[str] = set()
    for subject in scenario_enquiry(scenario)["subjects"]:
        for key in ("given_name", "family_name", "date_of_birth", "nhs_number", "upn",
                    "local_case_id", "address", "postcode"):
            if subject.get(key):
                values.add(str(subject[key]))
    return values


def assert_no_personal_data_in_logs(tmp_path: Path, scenario: str) -> None:
    logs = {log.name: log.read_text(errors="replace") for log in tmp_path.glob("*.log")}
    assert logs and any(logs.values()), "the processes wrote no log lines"
    for name, text in logs.items():
        for line in text.splitlines():
            for canary in personal_data(scenario):
                assert canary not in line, f"{name} logged personal data: {line[:200]}"


def _enquire_and_verify(base: str, workspace: DevWorkspace, tmp_path: Path, scenario: str) -> dict:
    with httpx.Client(base_url=base, timeout=10, headers=bearer(workspace, "mash_manager")) as client:
        created = client.post("/enquiries", json=scenario_enquiry(scenario))
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        assert created.json()["state"] == "dispatched"
        body = wait_closed(client, location)
        jose = client.get(f"{location}/summary", headers={"Accept": "application/jose"})
        assert jose.status_code == 200 and jose.headers["content-type"].startswith("application/jose")
        view = client.get(f"{location}/summary").json()
    assert view["verified"] is True
    token = tmp_path / f"{scenario}.jws"
    token.write_text(jose.text)
    verified = run(
        ["mash-broker", "verify", str(token), "--jwks", f"{base}/.well-known/jwks.json",
         "--agreements", str(workspace.agreements_dir)],
        env_with(),
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["partner_replies"] == {p: "verified" for p in ("education", "health", "police")}
    outcomes = {p["partner_id"]: p["outcome"] for p in body["partners"]}
    assert {k: outcomes[k] for k in EXPECTED[scenario]} == EXPECTED[scenario]
    assert outcomes["housing"] == "not_asked" and outcomes["probation"] == "not_asked"
    assert_no_personal_data_in_logs(tmp_path, scenario)
    return view["payload"]


@pytest.mark.integration
@pytest.mark.security  # also the canary check: no personal data in any process's log
@pytest.mark.parametrize("scenario", ["all_sources_high_risk", "no_trace", "police_only"])
def test_enquiry_end_to_end_over_rabbitmq_and_postgres(
    amqp_stack: str, workspace: DevWorkspace, tmp_path: Path, scenario: str
) -> None:
    """A manager's POST reaches the three adapter processes over RabbitMQ and ends in one
    summary that verifies from the published JWKS, partner replies included."""
    payload = _enquire_and_verify(amqp_stack, workspace, tmp_path, scenario)
    assert payload["completion"] == "all_replied"
    if scenario == "all_sources_high_risk":
        assert payload["suggested_brag"] == "red"


def test_enquiry_end_to_end_on_embedded_default(
    embedded_stack: str, workspace: DevWorkspace, tmp_path: Path
) -> None:
    """The same flow with no RabbitMQ and no PostgreSQL: SQLite and the in-process transport."""
    payload = _enquire_and_verify(embedded_stack, workspace, tmp_path, "all_sources_high_risk")
    assert payload["completion"] == "all_replied" and payload["suggested_brag"] == "red"
    _enquire_and_verify(embedded_stack, workspace, tmp_path, "no_trace")


def test_demo_command_writes_a_verifying_summary(tmp_path: Path) -> None:
    """`mash-broker demo --out DIR` writes summary.jws and jwks.json and exits 0 only if it verifies."""
    env = env_with(
        MASH_DEV_DIR=str(tmp_path / "dev"),
        MASH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
    )
    result = run(["mash-broker", "demo", "--out", str(tmp_path / "out")], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "summary verified" in result.stdout
    jwks = json.loads((tmp_path / "out" / "jwks.json").read_text())
    assert jwks["keys"][0]["alg"] == "Ed25519"
    again = run(["mash-broker", "verify", str(tmp_path / "out" / "summary.jws"),
                 "--jwks", str(tmp_path / "out" / "jwks.json")], env)
    assert again.returncode == 0


@pytest.mark.security
def test_development_server_requires_a_token_and_accepts_one_from_token_issue(
    workspace: DevWorkspace, tmp_path: Path
) -> None:
    """`MASH_ENV=development mash-broker serve` answers /healthz, refuses GET /enquiries without
    a token (401), and accepts the token `mash-broker token issue` prints on its last line."""
    port = free_port()
    env = env_with(
        MASH_ENV="development", MASH_DEV_DIR=str(workspace.root),
        MASH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'auth.sqlite3'}",
    )
    assert run(["mash-broker", "migrate"], env).returncode == 0
    issued = run(["mash-broker", "token", "issue", "--role", "screening_officer", "--sub", "sam"], env)
    token = issued.stdout.strip().splitlines()[-1]
    with started(["mash-broker", "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                 tmp_path / "broker.log") as broker:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, broker)
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/enquiries").status_code == 401
        ok = httpx.get(f"{base}/enquiries", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()["items"] == []
