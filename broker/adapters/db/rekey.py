"""Re-sealing every value under the current data key (after `keys rotate`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.adapters.db import delivery_tables as d
from broker.adapters.db import tables as t
from broker.adapters.db.crypto import RowCipher


@dataclass(frozen=True, slots=True)
class Sealed:
    table: Table
    key: str
    column: str
    context: Callable[[Any], str]
    binary: bool = False


SEALED = (
    Sealed(t.enquiries, "enquiry_id", "subjects", lambda r: f"enquiries.subjects:{r.enquiry_id}"),
    Sealed(t.enquiries, "enquiry_id", "consent", lambda r: f"enquiries.consent:{r.enquiry_id}"),
    Sealed(t.partner_requests, "request_id", "reply", lambda r: f"partner_requests.reply:{r.request_id}"),
    Sealed(t.partner_requests, "request_id", "reply_jws", lambda r: f"partner_requests.reply_jws:{r.request_id}"),
    Sealed(t.summaries, "summary_id", "jws", lambda r: f"summaries.jws:{r.summary_id}"),
    Sealed(t.outbox, "id", "body", lambda r: f"outbox.body:{r.correlation_id}", binary=True),
    Sealed(d.service_views, "view_id", "jws", lambda r: f"service_views.jws:{r.view_id}"),
)


async def reseal_all(engine: AsyncEngine, cipher: RowCipher, *, batch: int = 500) -> dict[str, int]:
    """Re-seal every value not already under the current key; returns counts per column.

    Each batch commits on its own, so a large database is re-sealed without one long
    transaction, and an interrupted run can simply be started again.
    """
    counts: dict[str, int] = {}
    for spec in SEALED:
        key_column = spec.table.c[spec.key]
        value_column = spec.table.c[spec.column]
        extra = [spec.table.c.correlation_id] if spec.table is t.outbox else []
        done = 0
        after: Any = None
        while True:
            query = select(key_column, value_column, *extra).where(value_column.is_not(None))
            if after is not None:
                query = query.where(key_column > after)
            async with engine.begin() as connection:
                rows = (await connection.execute(query.order_by(key_column).limit(batch))).all()
                for row in rows:
                    value = row[1].decode("ascii") if spec.binary else row[1]
                    if RowCipher.key_of(value) == cipher.ring.current:
                        continue
                    context = spec.context(row)
                    plain = cipher.open(value, context=context) if RowCipher.key_of(value) else value.encode()
                    sealed = cipher.seal(plain, context=context)
                    await connection.execute(
                        update(spec.table).where(key_column == row[0])
                        .values({spec.column: sealed.encode() if spec.binary else sealed})
                    )
                    done += 1
            if len(rows) < batch:
                break
            after = rows[-1][0]
        counts[f"{spec.table.name}.{spec.column}"] = done
    return counts


async def keys_in_use(engine: AsyncEngine) -> set[str]:
    used: set[str] = set()
    async with engine.connect() as connection:
        for spec in SEALED:
            column = spec.table.c[spec.column]
            for (value,) in (await connection.execute(select(column).where(column.is_not(None)))).all():
                kid = RowCipher.key_of(value.decode("ascii") if spec.binary else value)
                if kid:
                    used.add(kid)
    return used
