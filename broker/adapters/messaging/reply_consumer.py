"""Consume partner replies: verdicts from the use case, retries for transient failures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import sqlalchemy.exc
import structlog

from adapters.sdk.transport.base import IncomingMessage, Verdict
from broker.service.record_reply import ReplyResult

log = structlog.get_logger("mash.replies")

# The database being away is transient: the message is delivered again later
# (bounded by the queue's delivery limit) and nothing is acknowledged uncommitted.
TRANSIENT_DB_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DBAPIError,
    OSError,
    ConnectionError,
)

Record = Callable[[IncomingMessage], Awaitable[ReplyResult]]


def reply_handler(record: Record) -> Callable[[IncomingMessage], Awaitable[Verdict]]:
    async def handle(message: IncomingMessage) -> Verdict:
        try:
            result = await record(message)
        except TRANSIENT_DB_ERRORS as error:
            log.warning("reply_retry", message_id=message.message_id, error=type(error).__name__)
            return Verdict.retry(type(error).__name__)
        if result.outcome == "rejected":
            return Verdict.reject(result.reason)
        return Verdict.ack()

    return handle
