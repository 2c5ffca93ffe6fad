"""Receiving-service documents are validated like agreements: every problem named with its place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agreements.recipients import RecipientsInvalid, check_recipients, load_recipients

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "agreements" / "recipients"
KNOWN = frozenset({"education.attendance", "police.domestic_abuse"})


def sample(**changes: object) -> dict:
    document = json.loads((SAMPLES / "early-help.json").read_text())
    document.update(changes)
    return document


def problems_for(tmp_path: Path, *documents: dict) -> list[str]:
    for index, document in enumerate(documents):
        (tmp_path / f"s{index}.json").write_text(json.dumps(document))
    _, problems = check_recipients(tmp_path, known_categories=KNOWN)
    return [f"{p.where}: {p.message}" for p in problems]


def test_the_sample_services_load() -> None:
    """The three shipped services are valid, name the decision outcomes they take, and none may
    receive MASH-only findings."""
    services = {s.service_id: s for s in load_recipients(SAMPLES)}
    assert set(services) == {"childrens-social-care", "early-help", "supporting-families"}
    assert services["early-help"].outcomes == {"early_help"}
    assert services["childrens-social-care"].outcomes == {"section_17_assessment", "section_47_strategy_discussion"}
    assert all(s.dissemination == {"summary_safe"} for s in services.values())


@pytest.mark.parametrize(("changes", "expected"), [
    ({"dissemination": ["summary_safe", "mash_only"]}, "/dissemination/1"),
    ({"dissemination": ["owner_approval"]}, "owner_approval_ref"),
    ({"outcomes": ["early_help", "adoption"]}, "/outcomes/1"),
    ({"categories": ["education.attendance", "police.everything"]}, "/categories/1: 'police.everything' is not a data category"),
    ({"channels": {"queue": True, "webhook": {"url": "http://eh.example/views"}}}, "/channels/webhook/url: must be https"),
    ({"channels": {"queue": True, "webhook": {"url": "https://u:p@eh.example/views"}}}, "must not carry credentials"),
    ({"public_jwk": {"kty": "OKP", "crv": "Ed25519", "x": "A" * 43, "d": "secret"}}, "/public_jwk"),
    ({"service_id": "Early Help"}, "/service_id"),
])
def test_a_bad_document_is_refused_saying_where(tmp_path: Path, changes: dict, expected: str) -> None:
    """Each broken rule is reported at its JSON pointer, with a reason."""
    document = sample(**{"categories": ["education.attendance"], **changes})
    problems = problems_for(tmp_path, document)
    assert any(expected in p for p in problems), problems


def test_duplicate_ids_and_loopback_http_webhooks(tmp_path: Path) -> None:
    """Two documents with one id are refused; plain http is allowed on the loopback only."""
    local = sample(categories=["education.attendance"],
                   channels={"queue": True, "webhook": {"url": "http://127.0.0.1:8080/views"}})
    assert problems_for(tmp_path, local) == []
    assert any("defined twice" in p for p in problems_for(tmp_path, local, local))
    with pytest.raises(RecipientsInvalid):
        load_recipients(tmp_path, known_categories=KNOWN)


def test_no_directory_means_no_services(tmp_path: Path) -> None:
    """A broker without a recipients directory delivers to nobody (and starts)."""
    assert load_recipients(tmp_path / "absent") == []


def test_cli_check_names_each_problem_and_fails(tmp_path: Path) -> None:
    """`mash-broker agreements recipients DIR` lists valid services and exits 1 on any problem,
    naming only the problems there are (a missing field is not also reported as a broken rule)."""
    import subprocess
    import sys

    cli = [str(Path(sys.executable).parent / "mash-broker"), "agreements", "recipients"]
    ok = subprocess.run([*cli, str(SAMPLES)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and ok.stdout.count("ok ") == 3, ok.stderr
    (tmp_path / "x.json").write_text(json.dumps({"service_id": "x1", "status": "active"}))
    bad = subprocess.run([*cli, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "'dissemination' is a required property" in bad.stderr
    assert "owner_approval_ref" not in bad.stderr
