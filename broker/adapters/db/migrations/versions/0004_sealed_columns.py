"""encryption at rest: sealed values are text, not JSON

Subjects, consent and replies are now stored sealed (AES-GCM, see
broker/adapters/db/crypto.py), so their columns hold text. Values written before
this revision stay readable (plain JSON text) until `mash-broker keys rotate`
re-seals them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (("enquiries", "subjects", False), ("enquiries", "consent", True), ("partner_requests", "reply", True))


def upgrade() -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, type_=sa.Text(), existing_type=sa.JSON(), existing_nullable=nullable,
                postgresql_using=f"{column}::text",
            )


def downgrade() -> None:
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                column, type_=sa.JSON(), existing_type=sa.Text(), existing_nullable=nullable,
                postgresql_using=f"{column}::json",
            )
