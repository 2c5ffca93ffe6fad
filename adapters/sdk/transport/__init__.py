"""Messaging shared by the broker and partner adapters: one contract, two transports.

`AmqpTransport` (RabbitMQ through aio-pika) is the production path;
`InProcessTransport` has the same contract (JSON bytes, ids, confirms, manual
acknowledgement, dead-lettering) for the embedded default.
"""

from adapters.sdk.transport.base import (
    Disposition,
    Handler,
    IncomingMessage,
    OutgoingMessage,
    PublishRefused,
    Transport,
    Verdict,
)
from adapters.sdk.transport.topology import Topology

__all__ = [
    "Disposition",
    "Handler",
    "IncomingMessage",
    "OutgoingMessage",
    "PublishRefused",
    "Topology",
    "Transport",
    "Verdict",
]
