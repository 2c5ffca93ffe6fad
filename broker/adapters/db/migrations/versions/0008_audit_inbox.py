"""audit inbox: use cases write audit entries unsequenced; one sequencer chains them

The use cases no longer take the global append lock: they INSERT into audit_inbox in their
own transaction, and the broker's sequencer moves the entries into audit_events in batches
(index, leaf hash, running root) under the lock, deleting them from the inbox in the same
transaction. audit_events keeps its append-only triggers; the inbox is a queue, not evidence.
In production the application role needs SELECT, INSERT and DELETE on audit_inbox.

Revision ID: 0008_audit_inbox
Revises: 0005
Create Date: 2026-11-26 15:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008_audit_inbox'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_inbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('enquiry_id', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_inbox'))
    )


def downgrade() -> None:
    op.drop_table('audit_inbox')
