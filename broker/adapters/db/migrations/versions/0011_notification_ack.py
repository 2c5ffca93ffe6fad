"""notifications: the allocated worker's acknowledgement (who, when)

Revision ID: 0011_notification_ack
Revises: 0006_front_door
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_notification_ack"
down_revision = "0006_front_door"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("acknowledged_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("acknowledged_by")
        batch.drop_column("acknowledged_at")
