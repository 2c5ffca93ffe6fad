"""Downstream delivery: the views issued to receiving services, their sends, webhook attempts
and receipts, and receipts refused. Migration 0007_deliveries creates exactly these.

A view's signed body is personal data and is sealed (AES-GCM, crypto.py) bound to its row;
its SHA-256 stays in clear, so a receipt can be checked and a held copy matched. Statuses are
derived from facts (confirmed publish, receipt, given-up time), never stored twice.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text, UniqueConstraint

from broker.adapters.db.tables import TZ, metadata

service_views = Table(
    "service_views",
    metadata,
    Column("view_id", String(36), primary_key=True),
    Column("service_id", String(64), nullable=False),
    Column("enquiry_id", String(36)),
    Column("contact_id", String(36)),
    Column("summary_id", String(36)),
    Column("decision_id", String(64), nullable=False),
    Column("decision_outcome", String(64), nullable=False),
    Column("issued_at", TZ, nullable=False),
    Column("jws", Text),  # sealed; NULL once purged (retention of the findings it carries ended)
    Column("jws_sha256", String(64), nullable=False),  # kept: a held copy can still be matched
    Column("purged_at", TZ),
    Column("sends", Integer, nullable=False, server_default="0"),
    Column("last_sent_at", TZ),
    Column("ack_due_at", TZ),
    Column("acknowledged_at", TZ),
    Column("ack_channel", String(16)),
    Column("receipt_jws", Text),
    Column("receipt_received_at", TZ),  # as the service states it, in its signed receipt
    Column("undelivered_at", TZ),
    Column("undelivered_reason", Text),
    Column("webhook_url", Text),
    Column("webhook_state", String(16)),  # pending | delivered | failed (NULL: no webhook)
    Column("webhook_attempts", Integer, nullable=False, server_default="0"),
    Column("webhook_next_attempt_at", TZ),
    Column("webhook_last_error", Text),
    Column("webhook_delivered_at", TZ),
    UniqueConstraint("decision_id", "service_id", name="uq_service_views_decision_service"),
    Index("ix_service_views_service_issued", "service_id", "issued_at"),
    Index("ix_service_views_ack_due_at", "ack_due_at"),
    Index("ix_service_views_webhook_next", "webhook_next_attempt_at"),
)

receipt_rejections = Table(
    "receipt_rejections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", TZ, nullable=False),
    Column("channel", String(16), nullable=False),  # amqp | http | webhook
    Column("service_id", String(64)),  # who sent it, as far as we know (never trusted for more)
    Column("view_id", String(64)),
    Column("reason", Text, nullable=False),
    Column("body_sha256", String(64), nullable=False),
)
