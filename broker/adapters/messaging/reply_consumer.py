"""Consume partner replies and dead letters: verdicts from the use cases, and patience when
the database is away.

A database outage must not use up a message's delivery limit: RabbitMQ would
redeliver a nacked reply at once, six deliveries would pass in a fraction of a
second, and the reply would be dead-lettered while the partner's answer was fine.
So a transient error keeps the message unacknowledged here and tries again with
backoff; nothing is acknowledged before its effect is committed, and if this
process dies meanwhile RabbitMQ redelivers the message to another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import sqlalchemy.exc
import structlog

from adapters.sdk.transport.base import IncomingMessage, Verdict
from broker.service.record_reply import ReplyResult

log = structlog.get_logger("mash.replies")

TRANSIENT_DB_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DBAPIError,
    OSError,
    ConnectionError,
)

# Below RabbitMQ's default consumer timeout (30 min), after which it would close the
# channel and redeliver anyway.
PATIENCE_S = 20 * 60.0
MAX_BACKOFF_S = 15.0

Record = Callable[[IncomingMessage], Awaitable[ReplyResult]]


def reply_handler(
    record: Record, *, patience_s: float = PATIENCE_S, first_backoff_s: float = 0.5
) -> Callable[[IncomingMessage], Awaitable[Verdict]]:
    async def handle(message: IncomingMessage) -> Verdict:
        backoff = first_backoff_s
        waited = 0.0
        while True:
            try:
                result = await record(message)
                break
            except TRANSIENT_DB_ERRORS as error:
                if waited >= patience_s:
                    log.error("reply_retry_gave_up", error=type(error).__name__, waited_s=round(waited))
                    return Verdict.retry(type(error).__name__)
                log.warning("reply_waiting_for_database", error=type(error).__name__, backoff_s=backoff)
                await asyncio.sleep(backoff)
                waited += backoff
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        if result.outcome == "rejected":
            return Verdict.reject(result.reason)
        return Verdict.ack()

    return handle
