"""Data at rest: subject details, consent, partner findings, summaries and request bodies are
sealed with AES-GCM, so a database dump reveals none of them; keys rotate and retire."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from broker.adapters.db.crypto import KeyRing, RowCipher, Undecryptable
from broker.adapters.dev_workspace import DevWorkspace
from broker.entrypoints.demo import scenario_enquiry
from tests.e2e.processes import env_with, run

pytestmark = pytest.mark.security


def canaries() -> set[str]:
    """Names, dates of birth, identifiers, addresses of the enquiry, and finding text."""
    values = set()
    for subject in scenario_enquiry("all_sources_high_risk")["subjects"]:
        values |= {str(subject[k]) for k in ("given_name", "family_name", "nhs_number", "upn",
                                               "address", "date_of_birth") if subject.get(k)}
    return values | {"non-fatal strangulation", "Bruising seen on forearm", "CP-IS flag"}


def test_a_sealed_value_opens_only_in_its_place_and_untampered() -> None:
    """A value opens with its own context; moved to another row, altered, or under a key
    not in the ring, it does not."""
    cipher = RowCipher(KeyRing.generate())
    sealed = cipher.seal(b"Ruby Ormstead", context="enquiries.subjects:e1")
    assert b"Ruby" not in sealed.encode() and cipher.open(sealed, context="enquiries.subjects:e1") == b"Ruby Ormstead"
    with pytest.raises(Undecryptable, match="moved from another row"):
        cipher.open(sealed, context="enquiries.subjects:e2")
    flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(Undecryptable):
        cipher.open(flipped, context="enquiries.subjects:e1")
    with pytest.raises(Undecryptable, match="not in the key ring"):
        RowCipher(KeyRing.generate()).open(sealed, context="enquiries.subjects:e1")


def test_rotation_keeps_old_values_readable_until_resealed() -> None:
    """After rotation new values use the new key; values under the old key still open."""
    ring = KeyRing.generate()
    old = RowCipher(ring).seal(b"x", context="c")
    rotated = RowCipher(ring.rotated())
    assert rotated.open(old, context="c") == b"x"
    assert RowCipher.key_of(rotated.seal(b"x", context="c")) == rotated.ring.current != ring.current


def leaked_in(text: str) -> list[str]:
    """Canaries found as text, not as chance letters inside base64 ciphertext."""
    return sorted(
        c for c in canaries()
        if re.search(rf"(?<![A-Za-z0-9+/]){re.escape(c)}(?![A-Za-z0-9+/=])", text)
    )


def _demo(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = env_with(MASH_DEV_DIR=str(tmp_path / "dev"), MASH_DATABASE_URL=database_url)
    result = run(["mash-broker", "demo", "--out", str(tmp_path / "out")], env)
    assert result.returncode == 0, result.stdout + result.stderr
    return env


def _dump_postgres(pg_url: str) -> str:
    name = pg_url.rsplit("/", 1)[1]
    return subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", name],
                          capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.mark.integration
def test_a_postgres_dump_reveals_no_personal_data_and_rotation_reseals(tmp_path: Path, pg_url: str) -> None:
    """After a full enquiry, pg_dump of the database contains no name, date of birth,
    identifier, address or finding text; after `keys rotate` and `keys retire` every value
    is under the new key, the old key is gone, and the summary still verifies."""
    env = _demo(tmp_path, pg_url)
    dump = _dump_postgres(pg_url)
    assert "enc1:" in dump
    assert not leaked_in(dump), leaked_in(dump)

    ring_path = tmp_path / "dev" / "keys" / "data-keys.json"
    old_key = json.loads(ring_path.read_text())["current"]
    rotated = run(["mash-broker", "keys", "rotate"], env)
    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout.splitlines()[-1])
    assert report["current_key"] != old_key and report["keys_in_use"] == [report["current_key"]]
    assert sum(report["resealed"].values()) > 0
    retired = run(["mash-broker", "keys", "retire"], env)
    assert json.loads(retired.stdout.splitlines()[-1])["keys_kept"] == [report["current_key"]]
    assert old_key not in json.loads(ring_path.read_text())["keys"]
    assert f"enc1:{old_key}:" not in _dump_postgres(pg_url)
    verified = run(["mash-broker", "verify", str(tmp_path / "out" / "summary.jws"),
                    "--jwks", str(tmp_path / "out" / "jwks.json")], env)
    assert verified.returncode == 0


def test_a_sqlite_file_holds_no_personal_data(tmp_path: Path) -> None:
    """The embedded default's SQLite file (and its WAL) holds no personal data in clear."""
    database = tmp_path / "mash.sqlite3"
    _demo(tmp_path, f"sqlite+aiosqlite:///{database}")
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("mash.sqlite3*"))
    assert not leaked_in(raw.decode("latin-1")), leaked_in(raw.decode("latin-1"))
