"""The schema. Alembic migrations in `migrations/` create exactly this (a test checks)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TZ = DateTime(timezone=True)

enquiries = Table(
    "enquiries",
    metadata,
    Column("enquiry_id", String(36), primary_key=True),
    Column("purpose", String(64), nullable=False),
    Column("brag", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("opened_at", TZ, nullable=False),
    Column("deadline_at", TZ, nullable=False),
    Column("dispatched_at", TZ),
    Column("closed_at", TZ),
    Column("completion", String(16)),
    Column("refusal_reason", Text),
    Column("subjects", Text, nullable=False),  # sealed (crypto.py)
    Column("consent", Text),  # sealed
    Column("wanted_categories", JSON),
    Column("idempotency_key", String(200), unique=True),
    Column("chase_at", TZ),
    Index("ix_enquiries_state_deadline", "state", "deadline_at"),
    Index("ix_enquiries_chase_at", "chase_at"),
    Index("ix_enquiries_opened_at", "opened_at"),
)

partner_requests = Table(
    "partner_requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("enquiry_id", String(36), ForeignKey("enquiries.enquiry_id"), nullable=False),
    Column("partner_id", String(64), nullable=False),
    Column("partner_name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("categories", JSON, nullable=False),
    Column("agreement_id", String(64)),
    Column("agreement_version", String(32)),
    Column("reason", Text),
    Column("late", Boolean, nullable=False, server_default=text("false")),
    Column("replied_at", TZ),
    Column("chased_at", TZ),
    Column("retain_until", TZ),
    Column("purged_at", TZ),
    Column("reply", Text),  # sealed
    Column("reply_jws", Text),  # sealed
    Column("reply_brag", String(8)),  # the partner's own rating, plain for reports (not personal data)
    UniqueConstraint("enquiry_id", "partner_id", name="uq_partner_requests_enquiry_partner"),
    Index("ix_partner_requests_retain_until", "retain_until"),
)

gate_decisions = Table(
    "gate_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("enquiry_id", String(36), ForeignKey("enquiries.enquiry_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("gate", String(32), nullable=False),
    Column("partner_id", String(64)),
    Column("passed", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_at", TZ, nullable=False),
    UniqueConstraint("enquiry_id", "seq", name="uq_gate_decisions_enquiry_seq"),
)

summaries = Table(
    "summaries",
    metadata,
    Column("summary_id", String(36), primary_key=True),
    Column("enquiry_id", String(36), ForeignKey("enquiries.enquiry_id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("supersedes", String(36)),
    Column("issued_at", TZ, nullable=False),
    Column("jws", Text),  # sealed; NULL once purged
    Column("jws_sha256", String(64)),  # kept after a purge: a held copy can still be matched
    Column("purged_at", TZ),
    UniqueConstraint("enquiry_id", "version", name="uq_summaries_enquiry_version"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False, unique=True),
    Column("exchange", String(32), nullable=False),
    Column("routing_key", String(64), nullable=False),
    Column("message_type", String(64), nullable=False),
    Column("correlation_id", String(80), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),  # sealed
    Column("expires_at", TZ),
    Column("created_at", TZ, nullable=False),
    Column("available_at", TZ, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("published_at", TZ),
    Column("last_error", Text),
    # A chase and a restart re-send by request id: without it each scans the whole outbox.
    Index("ix_outbox_correlation_id", "correlation_id"),
    Index(
        "ix_outbox_unpublished",
        "available_at",
        postgresql_where=text("published_at IS NULL"),
        sqlite_where=text("published_at IS NULL"),
    ),
)

rejected_messages = Table(
    "rejected_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(200)),
    Column("received_at", TZ, nullable=False),
    Column("queue", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("enquiry_id", String(36)),
    Column("request_id", String(36)),
    Column("partner_id", String(64)),
    Column("body_sha256", String(64), nullable=False),
    Index("ix_rejected_messages_enquiry_id", "enquiry_id"),
)
