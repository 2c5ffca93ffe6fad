"""The `mash-broker` commands a deployer and a receiving service use, run as processes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from adapters.sdk.signing import SigningKey
from broker.adapters.dev_workspace import init_workspace
from tests.e2e.processes import env_with, run


def test_keys_generate_writes_an_encrypted_pkcs8_key(tmp_path: Path) -> None:
    """`keys generate` writes PKCS#8 encrypted with the passphrase, refuses to overwrite, and the
    key loads only with the passphrase."""
    key = tmp_path / "broker.pem"
    env = env_with(MASH_SIGNING__PASSPHRASE="correct horse")
    result = run(["mash-broker", "keys", "generate", "--out", str(key)], env)
    assert result.returncode == 0, result.stderr
    assert "ENCRYPTED PRIVATE KEY" in key.read_text()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert json.loads(result.stdout)["kid"] == SigningKey.from_pem_file(key, "correct horse").kid
    for wrong in (None, "wrong"):
        try:
            SigningKey.from_pem_file(key, wrong)
        except ValueError:
            continue
        raise AssertionError(f"key loaded with passphrase {wrong!r}")
    again = run(["mash-broker", "keys", "generate", "--out", str(key)], env)
    assert again.returncode == 1 and "exists" in again.stderr


def test_agreements_check_says_what_is_wrong_and_where(tmp_path: Path) -> None:
    """`agreements check` passes the samples and names the file and JSON pointer of a problem."""
    good = run(["mash-broker", "agreements", "check", "agreements/documents"], env_with())
    assert good.returncode == 0 and "ok mash-tier2 v3.0" in good.stdout
    broken = tmp_path / "agreements"
    shutil.copytree("agreements/documents", broken)
    document = json.loads((broken / "mash-tier2-v3.0.json").read_text())
    document["parties"][0]["categories"].append("police.everything")
    document["effective_to"] = "not a date"
    (broken / "mash-tier2-v3.0.json").write_text(json.dumps(document))
    bad = run(["mash-broker", "agreements", "check", str(broken)], env_with())
    assert bad.returncode == 1
    assert "mash-tier2-v3.0.json: /effective_to:" in bad.stderr


def test_verify_refuses_a_tampered_summary(tmp_path: Path) -> None:
    """`verify` exits 0 for the demo's summary and 1 once a byte of its payload changes."""
    env = env_with(
        MASH_DEV_DIR=str(tmp_path / "dev"),
        MASH_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
    )
    assert run(["mash-broker", "demo", "--out", str(tmp_path / "out")], env).returncode == 0
    token = (tmp_path / "out" / "summary.jws").read_text().strip()
    header, payload, signature = token.split(".")
    tampered = tmp_path / "tampered.jws"
    tampered.write_text(".".join([header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature]))
    result = run(["mash-broker", "verify", str(tampered), "--jwks", str(tmp_path / "out" / "jwks.json")], env)
    assert result.returncode == 1 and json.loads(result.stdout)["verified"] is False


def test_production_mode_refuses_unsafe_defaults(tmp_path: Path) -> None:
    """With MASH_ENV=production the broker refuses to start on development defaults and says why."""
    init_workspace(tmp_path / "dev")
    env = env_with(MASH_ENV="production", MASH_DEV_DIR=str(tmp_path / "dev"),
                   MASH_AMQP_URL="amqp://guest:guest@127.0.0.1/")
    result = run(["mash-broker", "migrate"], env)
    assert result.returncode == 2
    for reason in ("guest user", "PostgreSQL", "PASSPHRASE", "MASH_AGREEMENTS_DIR"):
        assert reason in result.stderr, result.stderr
    assert "guest:guest" not in result.stderr  # configuration errors never echo secrets
