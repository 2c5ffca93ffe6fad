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
    """The message was not confirmed (nack, unroutable, timeout, or no connection)."""


class Transport(Protocol):
    @property
    def connected(self) -> bool: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, message: OutgoingMessage) -> None:
        """Return once the transport has confirmed the message; raise PublishRefused otherwise."""

    async def consume(self, queue: str, handler: Handler) -> None:
        """Start delivering messages from `queue` to `handler` in the background."""
