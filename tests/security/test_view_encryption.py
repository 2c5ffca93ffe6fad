"""A view's signed body is sealed at rest (AES-GCM bound to its row) and re-sealed on rotation."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, update

from broker.adapters.db import delivery_tables as d
from broker.adapters.db.crypto import RowCipher, Undecryptable
from broker.adapters.db.rekey import keys_in_use, reseal_all
from broker.adapters.dev_workspace import DevWorkspace
from broker.bootstrap import build_broker
from broker.config import Settings
from broker.domain.decision import Outcome
from tests.integration.delivery_helpers import contact_for, decision_on

pytestmark = pytest.mark.security


class _NoSummary:
    summary_id = "none"
    jws = "none"


async def test_view_bodies_are_sealed_bound_to_their_row_and_resealed_on_rotation(
    workspace: DevWorkspace, sqlite_url: str
) -> None:
    """The stored view is ciphertext (no subject name, no decision text in the database); moved to
    another row it does not open; after rotation `reseal_all` puts it under the new key and it
    still opens to the same signed view."""
    broker = build_broker(Settings(dev_dir=workspace.root, database_url=sqlite_url))
    await broker.start(background=False)
    try:
        issued = []
        for outcome in (Outcome.EARLY_HELP, Outcome.SUPPORTING_FAMILIES):
            decision = dataclasses.replace(decision_on("e", _NoSummary(), outcome),
                                           enquiry_id=None, summary_id=None, summary_sha256=None)
            issued += await broker.deliveries.deliver_decision(decision, contact_for(decision))  # type: ignore[union-attr]
        async with broker.engine.connect() as c:
            rows = (await c.execute(select(d.service_views.c.view_id, d.service_views.c.jws))).all()
        async with broker.uow() as uow:
            before = {v: (await uow.deliveries.get(v)).jws for v in issued}  # type: ignore[union-attr]
        assert len(rows) == 2 and all(r.jws.startswith("enc1:") for r in rows)
        signed_parts = [part for jws in before.values() for part in jws.split(".")]
        assert not any(part in r.jws for part in signed_parts for r in rows)

        # A ciphertext copied onto another row does not open there.
        async with broker.engine.begin() as c:
            await c.execute(update(d.service_views).where(d.service_views.c.view_id == rows[1].view_id)
                            .values(jws=rows[0].jws))
        with pytest.raises(Undecryptable):
            async with broker.uow() as uow:
                await uow.deliveries.get(rows[1].view_id)
        async with broker.engine.begin() as c:
            await c.execute(update(d.service_views).where(d.service_views.c.view_id == rows[1].view_id)
                            .values(jws=rows[1].jws))

        rotated = RowCipher(broker.cipher.ring.rotated())
        counts = await reseal_all(broker.engine, rotated)
        assert counts["service_views.jws"] == 2
        assert rotated.ring.current in await keys_in_use(broker.engine)
        broker.cipher = rotated
        async with broker.uow() as uow:
            after = {v: (await uow.deliveries.get(v)).jws for v in issued}  # type: ignore[union-attr]
        assert after == before
    finally:
        await broker.stop()
