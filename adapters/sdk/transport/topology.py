"""The one place the message topology is defined; declared from here and exported as
RabbitMQ definitions (`deploy/rabbitmq/definitions.json`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REPLY_ROUTING_KEY = "broker"


@dataclass(frozen=True, slots=True)
class Topology:
    partners: tuple[str, ...]
    prefix: str = "mash"
    delivery_limit: int = 5
    queue_max_length: int = 100_000
    services: tuple[str, ...] = ()  # receiving services: a views queue each, and the receipts queue

    @property
    def requests_exchange(self) -> str:
        return f"{self.prefix}.requests"

    @property
    def replies_exchange(self) -> str:
        return f"{self.prefix}.replies"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.prefix}.dlx"

    @property
    def replies_queue(self) -> str:
        return f"{self.prefix}.broker.replies"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}.broker.dead"

    def request_queue(self, partner_id: str) -> str:
        return f"{self.prefix}.partner.{partner_id}.requests"

    @property
    def deliveries_exchange(self) -> str:
        return f"{self.prefix}.deliveries"

    @property
    def receipts_exchange(self) -> str:
        return f"{self.prefix}.receipts"

    @property
    def receipts_queue(self) -> str:
        return f"{self.prefix}.broker.receipts"

    def service_queue(self, service_id: str) -> str:
        return f"{self.prefix}.service.{service_id}.views"

    def exchange_name(self, logical: str) -> str:
        return {"requests": self.requests_exchange, "replies": self.replies_exchange,
                "deliveries": self.deliveries_exchange, "receipts": self.receipts_exchange}[logical]

    def queue_arguments(self) -> dict[str, Any]:
        """Quorum, bounded, dead-lettered at least once after an explicit delivery limit.

        RabbitMQ 3.10 sets no default delivery limit, and at-least-once
        dead-lettering needs `reject-publish` overflow, which also gives us
        back-pressure: a full queue refuses the publish instead of dropping.
        """
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.dead_letter_exchange,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-max-length": self.queue_max_length,
        }

    def dead_letter_queue_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-overflow": "reject-publish",
            "x-max-length": self.queue_max_length,
        }

    def queues(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(queue, exchange, routing key, arguments) for every queue."""
        rows = [
            (self.request_queue(p), self.requests_exchange, p, self.queue_arguments())
            for p in self.partners
        ]
        rows.append((self.replies_queue, self.replies_exchange, REPLY_ROUTING_KEY, self.queue_arguments()))
        rows.append((self.dead_letter_queue, self.dead_letter_exchange, "", self.dead_letter_queue_arguments()))
        if self.services:
            rows.extend(
                (self.service_queue(s), self.deliveries_exchange, s, self.queue_arguments())
                for s in self.services
            )
            rows.append((self.receipts_queue, self.receipts_exchange, REPLY_ROUTING_KEY, self.queue_arguments()))
        return rows

    def exchanges(self) -> list[tuple[str, str]]:
        return [
            (self.requests_exchange, "direct"),
            (self.replies_exchange, "direct"),
            (self.dead_letter_exchange, "fanout"),
        ] + (
            [(self.deliveries_exchange, "direct"), (self.receipts_exchange, "direct")]
            if self.services else []
        )

    def definitions(self, vhost: str = "/") -> dict[str, Any]:
        """RabbitMQ definitions (importable with `rabbitmqctl import_definitions`)."""
        return {
            "vhosts": [{"name": vhost}],
            "exchanges": [
                {
                    "name": name,
                    "vhost": vhost,
                    "type": kind,
                    "durable": True,
                    "auto_delete": False,
                    "internal": False,
                    "arguments": {},
                }
                for name, kind in self.exchanges()
            ],
            "queues": [
                {"name": q, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": args}
                for q, _, _, args in self.queues()
            ],
            "bindings": [
                {
                    "source": ex,
                    "vhost": vhost,
                    "destination": q,
                    "destination_type": "queue",
                    "routing_key": key,
                    "arguments": {},
                }
                for q, ex, key, _ in self.queues()
            ],
        }
