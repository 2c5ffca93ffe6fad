"""`mash-broker demo`: one enquiry, end to end, about a synthetic child known to all partners."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from broker.adapters.db.migrate import upgrade
from broker.domain.access import MASH_MANAGER, Principal
from broker.adapters.dev_workspace import init_workspace
from broker.bootstrap import build_broker
from broker.config import Settings
from broker.entrypoints.verification import verify_summary

COHORT = Path(__file__).resolve().parents[2] / "adapters" / "synthetic" / "cohort.json"


def scenario_enquiry(
    scenario: str = "all_sources_high_risk",
    *,
    brag: str = "amber",
    household: bool = True,
) -> dict[str, Any]:
    """A POST /enquiries body about a scenario child of the synthetic cohort, and household."""
    cohort = json.loads(COHORT.read_text(encoding="utf-8"))
    people = {p["person_id"]: p for p in cohort["persons"]}
    child = people[cohort["scenarios"][scenario]]
    home = next(h for h in cohort["households"] if h["household_id"] == child["household_id"])
    members = [child] + (
        [people[m] for m in home["members"] if m != child["person_id"]] if household else []
    )
    subjects = []
    for index, person in enumerate(members):
        subject = {
            "subject_ref": f"S{index + 1}",
            "role": "child" if person is child else "household_member",
            "relationship": None if person is child else person["relationship"],
            "given_name": person["given_name"],
            "family_name": person["family_name"],
            "date_of_birth": person["date_of_birth"],
            "sex": person["sex"],
            "address": home["address"],
            "postcode": home["postcode"],
            "nhs_number": person.get("nhs_number"),
            "upn": person.get("upn"),
            "local_case_id": person.get("local_case_id"),
        }
        subjects.append({k: v for k, v in subject.items() if v is not None})
    return {
        "brag": brag,
        "subjects": subjects,
        "consent": {
            "status": "not_sought",
            "decided_by": "Screening officer (demo)",
            "decided_at": dt.datetime.now(dt.UTC).isoformat(),
            "approved_by": "MASH team manager (demo)",
            "reason": "Seeking consent could place the child at increased risk of harm",
            "lawful_basis": "UK-GDPR-6(1)(e); UK-GDPR-9(2)(g) with DPA2018 Sch1 Pt2 para18",
            "family_informed": "deferred",
            "family_informed_reason": "Telling the family now could place the child at risk",
        },
    }


def _spawn_adapters(settings: Settings) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "MASH_DEV_DIR": str(settings.dev_dir)}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "adapters.sdk.cli", "run", name],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for name in settings.embedded_adapters
    ]


async def run_demo(settings: Settings, *, out: Path, timeout: float) -> bool:
    from broker.entrypoints.api.routes import _command  # the same mapping the API uses
    from broker.entrypoints.api.schemas import EnquiryCreate

    passphrase = settings.signing.passphrase.get_secret_value() if settings.signing.passphrase else None
    init_workspace(settings.dev_dir, broker_passphrase=passphrase)
    upgrade(settings.database_url)
    broker = build_broker(settings, connection_name="mash-broker-demo")
    adapters: list[subprocess.Popen[bytes]] = []
    await broker.start()
    try:
        if settings.uses_amqp:
            adapters = _spawn_adapters(settings)
        body = EnquiryCreate.model_validate(scenario_enquiry())
        demo_manager = Principal(subject="demo.manager", roles=frozenset({MASH_MANAGER}))
        opened = await broker.open_enquiry(_command(body, broker, None, demo_manager))
        typer.echo(f"enquiry {opened.enquiry_id}: {opened.state.value}")
        deadline = asyncio.get_running_loop().time() + timeout
        history = []
        while asyncio.get_running_loop().time() < deadline:
            history = await broker.views.summaries(opened.enquiry_id)
            if history:
                break
            await asyncio.sleep(0.2)
        if not history:
            typer.echo(f"no summary within {timeout:.0f} s", err=True)
            return False
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.jws").write_text(history[-1].jws + "\n", encoding="ascii")
        (out / "jwks.json").write_text(json.dumps(broker.signer.jwks(), indent=2) + "\n")
    finally:
        for process in adapters:
            process.terminate()
        for process in adapters:
            process.wait(timeout=10)
        await broker.stop()

    report = verify_summary(
        (out / "summary.jws").read_text().strip(), str(out / "jwks.json"), settings.agreements_path
    )
    if report["verified"]:
        from adapters.sdk.bootstrap import load_broker_keys
        from adapters.sdk.signing import verify
        from broker.entrypoints.rendering import render_summary
        from broker.service.summaries import SUMMARY_JWS_TYP

        payload = verify(
            (out / "summary.jws").read_text().strip(),
            load_broker_keys(str(out / "jwks.json")),
            typ=SUMMARY_JWS_TYP,
        )
        typer.echo("")
        typer.echo(render_summary(payload))
        typer.echo("")
    typer.echo(json.dumps(report, indent=2))
    typer.echo(f"wrote {out / 'summary.jws'} and {out / 'jwks.json'}")
    typer.echo("summary verified" if report["verified"] else "summary DID NOT verify")
    return bool(report["verified"])
