"""The transport contract: publish with confirmation, consume with an explicit verdict."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message to publish. `exchange` is a logical name: 'requests' or 'replies'."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    correlation_id: str
    message_type: str
    headers: dict[str, str] = field(default_factory=dict)
    expiration_s: float | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    body: bytes
    message_id: str | None
    correlation_id: str | None
    message_type: str | None
    headers: dict[str, object]
    user_id: str | None
    redelivered: bool
    death_reason: str | None = None  # set on dead letters: rejected | expired | delivery_limit
    death_queue: str | None = None


class Disposition(enum.Enum):
    ACK = "ack"  # done: the effect is committed
    REJECT = "reject"  # can never be processed: dead-letter it
    RETRY = "retry"  # a transient failure: deliver again (bounded by the delivery limit)


@dataclass(frozen=True, slots=True)
class Verdict:
    disposition: Disposition
    reason: str = ""

    @classmethod
    def ack(cls) -> Verdict:
        return cls(Disposition.ACK)

    @classmethod
    def reject(cls, reason: str) -> Verdict:
        return cls(Disposition.REJECT, reason)

    @classmethod
    def retry(cls, reason: str) -> Verdict:
        return cls(Disposition.RETRY, reason)


Handler = Callable[[IncomingMessage], Awaitable[Verdict]]


class PublishRefused(Exception):
    """The message was not confirmed.

    `kind` says why: `full` (the queue refused it: back-pressure), `unroutable`
    (no queue for its routing key) or `unavailable` (timeout, no connection).
    """

    def __init__(self, message: str, *, kind: str = "unavailable") -> None:
        super().__init__(message)
        self.kind = kind


class Transport(Protocol):
    @property
    def connected(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, message: OutgoingMessage) -> None:
        """Return once the transport has confirmed the message; raise PublishRefused otherwise."""

    async def consume(self, queue: str, handler: Handler) -> None:
        """Start delivering messages from `queue` to `handler` in the background."""
