"""deliveries: views issued to receiving services, receipts refused

Revision ID: 0007_deliveries
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_deliveries"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_views",
        sa.Column("view_id", sa.String(length=36), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("enquiry_id", sa.String(length=36), nullable=True),
        sa.Column("contact_id", sa.String(length=36), nullable=True),
        sa.Column("summary_id", sa.String(length=36), nullable=True),
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.Column("decision_outcome", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("jws", sa.Text(), nullable=True),
        sa.Column("jws_sha256", sa.String(length=64), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sends", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_channel", sa.String(length=16), nullable=True),
        sa.Column("receipt_jws", sa.Text(), nullable=True),
        sa.Column("receipt_received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undelivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undelivered_reason", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("webhook_state", sa.String(length=16), nullable=True),
        sa.Column("webhook_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("webhook_next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_last_error", sa.Text(), nullable=True),
        sa.Column("webhook_delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("view_id", name=op.f("pk_service_views")),
        sa.UniqueConstraint("decision_id", "service_id", name="uq_service_views_decision_service"),
    )
    with op.batch_alter_table("service_views", schema=None) as batch_op:
        batch_op.create_index("ix_service_views_service_issued", ["service_id", "issued_at"], unique=False)
        batch_op.create_index("ix_service_views_ack_due_at", ["ack_due_at"], unique=False)
        batch_op.create_index("ix_service_views_webhook_next", ["webhook_next_attempt_at"], unique=False)
    op.create_table(
        "receipt_rejections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=True),
        sa.Column("view_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_rejections")),
    )


def downgrade() -> None:
    op.drop_table("receipt_rejections")
    with op.batch_alter_table("service_views", schema=None) as batch_op:
        batch_op.drop_index("ix_service_views_webhook_next")
        batch_op.drop_index("ix_service_views_ack_due_at")
        batch_op.drop_index("ix_service_views_service_issued")
    op.drop_table("service_views")
