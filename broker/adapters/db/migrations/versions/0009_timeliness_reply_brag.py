"""timeliness: the partner's own BRAG in clear on partner_requests, for reports

The rating is a category, not personal data (like enquiries.brag); keeping it beside
the sealed reply lets the timeliness report count ratings without opening replies.
Rows recorded before this revision keep NULL (their rating is only in the sealed reply).

Revision ID: 0009_timeliness
Revises: 0005
Create Date: 2026-11-26 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009_timeliness'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('partner_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_brag', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('partner_requests', schema=None) as batch_op:
        batch_op.drop_column('reply_brag')
