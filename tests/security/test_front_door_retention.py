"""The front door's personal data is purged when its retention ends, on SQLite and PostgreSQL:
a contact that led to no enquiry `front_door.retention_days` after it finished, a contact that
led to an enquiry together with that enquiry's findings. The referrer, reason, subjects,
rationales, advice, the decision's rationale and signed record and the worker's notification
go (from the database file / pg_dump too); ids, states, times, ratings, outcomes and the
decision's SHA-256 stay, so the timeliness report still counts them and a read answers 410."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text

from broker.adapters.db import front_door_tables as f
from broker.adapters.db.delivery_tables import service_views
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import Broker, build_broker
from broker.config import Settings
from broker.domain.brag import Brag
from broker.domain.contact import Referrer
from broker.domain.contact_retention import ContactPurged
from broker.domain.decision import Outcome
from broker.domain.subject import Subject
from broker.domain.timeliness import Period
from broker.entrypoints.api.app import create_app
from tests.conftest import bearer
from tests.integration.front_door_helpers import AUDITOR, KAI, KAI_WORKER, MANAGER, OFFICER, SOS, consent, record
from tests.integration.helpers import eventually

pytestmark = pytest.mark.security

CANARY_REFERRER = "Ottoline Quarrendon-Vasquez"
CANARY_REASON = "Canary reason: the periwinkle caravan by the weir at Lurgashall"
RETENTION_DAYS = 30


class MovableClock:
    def __init__(self) -> None:
        self.offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@pytest.fixture(name="backend", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def _backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(name="clock")
def _clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(name="broker")
async def _broker(backend: tuple[str, str], workspace: DevWorkspace, clock: MovableClock) -> AsyncIterator[Broker]:
    settings = Settings(dev_dir=workspace.root, database_url=backend[1], relay_poll_s=0.05, sweep_interval_s=3600,
                        front_door={"retention_days": RETENTION_DAYS})
    broker = build_broker(settings, clock=clock)
    await broker.start()
    # This test moves the clock and purges itself: the sweeper must not race it.
    for task in [t for t in broker._tasks if t.get_name() == "deadline-sweeper"]:  # noqa: SLF001
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        broker._tasks.remove(task)  # noqa: SLF001
    try:
        yield broker
    finally:
        await broker.stop()


def canary_record(**changes: object):  # type: ignore[no-untyped-def]
    referrer = Referrer(name=CANARY_REFERRER, role="School nurse", organisation="Quillsby Primary School",
                        phone="01632 960456")
    return record(referrer=referrer, reason=CANARY_REASON, **changes)


async def sealed_values(broker: Broker, contact_id: str) -> list[str]:
    """The ciphertexts of the contact's referrer and reason, and its decision's signed record."""
    async with broker.engine.connect() as c:
        row = (await c.execute(select(f.contacts.c.referrer, f.contacts.c.reason)
                               .where(f.contacts.c.contact_id == contact_id))).one()
        jws = (await c.execute(select(f.decisions.c.jws).where(f.decisions.c.contact_id == contact_id))
               ).scalar_one_or_none()
    return [v for v in (*row, jws) if v]


async def stored_bytes(broker: Broker, backend: tuple[str, str]) -> str:
    """What an attacker with the disk gets: pg_dump, or the SQLite file and its WAL after a checkpoint."""
    kind, url = backend
    if kind == "postgresql":
        name = url.rsplit("/", 1)[1]
        return subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", name],
                              capture_output=True, text=True, check=True, timeout=120).stdout
    async with broker.engine.connect() as c:
        await c.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    path = Path(url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*")).decode("latin-1")


async def decided_by_enquiry(broker: Broker) -> tuple[str, str]:
    recorded = await broker.front_door.record_contact(canary_record())
    contact_id = recorded.contact_id
    await broker.front_door.propose_brag(contact_id, Brag.RED, SOS, actor=OFFICER)
    await broker.front_door.sanction(contact_id, actor=MANAGER)
    opened = await broker.front_door.open_enquiry(contact_id, actor=MANAGER, consent=consent())

    async def summarised() -> bool:
        return bool(await broker.views.summaries(opened.enquiry_id))
    await eventually(summarised)
    await broker.front_door.record_decision(contact_id, outcome=Outcome.SECTION_47_STRATEGY_DISCUSSION,
                                            rationale="Strategy discussion today.", actor=MANAGER)
    return contact_id, opened.enquiry_id


async def counted(broker: Broker) -> tuple[object, ...]:
    report = await broker.timeliness_report(AUDITOR, Period())
    overall, mash = report.decision_timeliness(None), report.rating("mash")
    assert mash is not None
    return overall.decided, overall.met, overall.missed, mash.distribution, mash.counts, report.enquiries_total


async def test_finished_contacts_are_purged_after_retention_and_with_their_enquiry(
    broker: Broker, backend: tuple[str, str], clock: MovableClock, workspace: DevWorkspace,
) -> None:
    """A blue contact closed with advice and one routed to the allocated worker are untouched
    inside `retention_days` and purged after it (sealed columns emptied, purged_at stamped, the
    decision's hash kept, the notification emptied, one contact.purged audit entry each with ids
    only, their ciphertexts and canaries gone from the stored bytes); the contact that led to an
    enquiry is kept until the enquiry's findings are purged (730 days) and goes with them. The
    timeliness report counts the same before and after; reads answer 410 (the decision with its
    SHA-256), the list shows them as purged."""
    blue = (await broker.front_door.record_contact(canary_record())).contact_id
    await broker.front_door.sanction(blue, actor=MANAGER, brag=Brag.BLUE, rationale=SOS)
    await broker.front_door.close_blue(blue, advice="Signposted to the Family Hub.", actor=MANAGER)
    kai = (Subject.create(**{**KAI, "date_of_birth": dt.date(2010, 1, 5)}),)
    routed = (await broker.front_door.record_contact(canary_record(subjects=kai))).contact_id
    green = (await broker.front_door.record_contact(canary_record())).contact_id
    await broker.front_door.propose_brag(green, Brag.GREEN, SOS, actor=OFFICER)
    await broker.front_door.sanction(green, actor=MANAGER)
    await broker.front_door.record_decision(green, outcome=Outcome.EARLY_HELP, rationale="Early Help offered.",
                                            actor=MANAGER)  # decided from screening: a view goes to Early Help
    linked, enquiry_id = await decided_by_enquiry(broker)
    before = await counted(broker)
    blue_sha = (await broker.front_door.read_decision(blue, actor=MANAGER, jwks=broker.signer.jwks())).jws_sha256
    secrets = {cid: await sealed_values(broker, cid) for cid in (blue, routed, green, linked)}
    async with broker.engine.connect() as c:
        views = (await c.execute(select(service_views.c.view_id, service_views.c.jws)
                                 .where(service_views.c.contact_id == green))).all()
    assert views and all(jws for _, jws in views)
    secrets[green] += [jws for _, jws in views]
    assert all(len(v) >= 2 for v in secrets.values())
    dump = await stored_bytes(broker, backend)
    assert all(s in dump for v in secrets.values() for s in v)  # the check can fail: they were there

    clock.offset = dt.timedelta(days=RETENTION_DAYS - 1)
    assert await broker.purge_expired() == 0
    assert (await broker.front_door.read_contact(blue, actor=MANAGER)).contact.reason == CANARY_REASON

    clock.offset = dt.timedelta(days=RETENTION_DAYS + 1)
    assert await broker.purge_expired() == 3  # blue, routed, green; the linked one waits for its enquiry
    assert await broker.purge_expired() == 0  # once
    kept = await broker.front_door.read_contact(linked, actor=MANAGER)
    assert kept.contact.referrer.name == CANARY_REFERRER and kept.contact.reason == CANARY_REASON
    with pytest.raises(ContactPurged) as gone:
        await broker.front_door.read_contact(blue, actor=MANAGER)
    assert gone.value.decision_sha256 == blue_sha
    with pytest.raises(ContactPurged):
        await broker.front_door.read_contact(routed, actor=KAI_WORKER)
    with pytest.raises(ContactPurged):
        await broker.front_door.read_decision(blue, actor=MANAGER, jwks=broker.signer.jwks())
    notes = await broker.front_door.notifications(actor=KAI_WORKER)
    assert [(n.contact_id, n.body) for n in notes] == [(routed, {})]  # emptied, still listed

    async with broker.engine.connect() as c:
        contacts = {r["contact_id"]: r for r in (await c.execute(select(f.contacts))).mappings()}
        decisions = {r["contact_id"]: r for r in (await c.execute(select(f.decisions))).mappings()}
        checks = (await c.execute(select(f.contact_consent_checks.c.reason)
                                  .where(f.contact_consent_checks.c.contact_id == linked))).scalars().all()
        purged_views = (await c.execute(select(service_views.c.jws, service_views.c.purged_at, service_views.c.jws_sha256)
                                        .where(service_views.c.contact_id == green))).all()
    assert purged_views and all(jws is None and at is not None and digest for jws, at, digest in purged_views)
    for cid in (blue, routed, green):
        row = contacts[cid]
        assert row["purged_at"] is not None
        assert row["state"] in {"closed_universal", "routed_to_allocated_worker", "decided"}
        assert all(row[k] is None for k in ("referrer", "reason", "subjects", "consent", "allocated_worker",
                                            "proposal_rationale", "sanction_rationale", "universal_advice"))
    assert contacts[blue]["brag"] == "blue" and contacts[blue]["decided_at"] is not None
    assert decisions[blue]["jws"] is None and decisions[blue]["rationale"] is None
    assert decisions[blue]["jws_sha256"] == blue_sha and decisions[blue]["outcome"] == "universal_services_advice"
    assert contacts[linked]["purged_at"] is None and contacts[linked]["reason"] and checks and all(checks)
    dump = await stored_bytes(broker, backend)
    assert not [s for cid in (blue, routed, green) for s in secrets[cid] if s in dump]
    assert all(s in dump for s in secrets[linked])

    transport = httpx.ASGITransport(app=create_app(broker=broker))
    async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
        manager = bearer(workspace, "mash_manager", sub="m")
        read = await client.get(f"/contacts/{blue}", headers=manager)
        decision = await client.get(f"/contacts/{blue}/decision", headers=manager)
        listed = (await client.get("/contacts", headers=manager)).json()["items"]
        other = await client.get(f"/contacts/{routed}", headers=bearer(workspace, "social_worker", sub="sw.other"))
        audit = (await client.get("/audit", params={"limit": 1000},
                                  headers=bearer(workspace, "auditor", sub="a"))).json()["events"]
    assert read.status_code == 410 and "purged" in read.json()["detail"]
    assert decision.status_code == 410 and blue_sha in decision.json()["detail"]
    assert other.status_code == 404  # a purge does not tell outsiders the contact existed
    by_id = {i["contact_id"]: i for i in listed}
    assert by_id[blue]["purged_at"] and by_id[blue]["child"] is None and by_id[blue]["state"] == "closed_universal"
    assert by_id[linked]["purged_at"] is None and by_id[linked]["child"]["given_name"]
    tombstones = {e["details"]["contact_id"]: e for e in audit if e["action"] == "contact.purged"}
    assert set(tombstones) == {blue, routed, green}
    assert tombstones[green]["details"]["view_ids"] == sorted(v for v, _ in views)
    assert tombstones[blue]["details"]["decision_sha256_ids"] == [blue_sha]
    assert f"{RETENTION_DAYS} days" in tombstones[blue]["reason"]
    assert CANARY_REFERRER not in str(audit) and "periwinkle" not in str(audit)

    clock.offset = dt.timedelta(days=731)  # the sample agreements keep findings 730 days
    assert await broker.purge_expired() == 4  # three partners' findings, then the contact with them
    with pytest.raises(ContactPurged):
        await broker.front_door.read_contact(linked, actor=MANAGER)
    async with broker.engine.connect() as c:
        row = (await c.execute(select(f.contacts).where(f.contacts.c.contact_id == linked))).mappings().one()
        checks = (await c.execute(select(f.contact_consent_checks.c.reason, f.contact_consent_checks.c.consent)
                                  .where(f.contact_consent_checks.c.contact_id == linked))).all()
    assert row["purged_at"] is not None and row["referrer"] is None and row["enquiry_id"] == enquiry_id
    assert checks and all(reason is None and sealed is None for reason, sealed in checks)
    dump = await stored_bytes(broker, backend)
    assert not [s for v in secrets.values() for s in v if s in dump]
    assert CANARY_REFERRER not in dump and "periwinkle" not in dump
    assert await counted(broker) == before  # the statistics still count the purged contacts
