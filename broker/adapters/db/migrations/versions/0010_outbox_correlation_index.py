"""index what grows: the outbox by request id (chase, restart), rejections by enquiry

Revision ID: 0010_outbox_correlation_index
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0010_outbox_correlation_index"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_correlation_id", "outbox", ["correlation_id"])
    op.create_index("ix_rejected_messages_enquiry_id", "rejected_messages", ["enquiry_id"])


def downgrade() -> None:
    op.drop_index("ix_rejected_messages_enquiry_id", table_name="rejected_messages")
    op.drop_index("ix_outbox_correlation_id", table_name="outbox")
