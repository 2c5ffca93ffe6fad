"""front door retention: purge stamps, sealed columns may be emptied

A contact's personal data (referrer, reason, subjects, consent, rationales, advice, re-rating
reasons, consent-check records, the decision's rationale and signed record, the allocated
worker's notification) is removed when its retention ends; the clear columns stay for the
timeliness statistics, and the decision's jws_sha256 stays as its tombstone.

Revision ID: 0011_front_door_retention
Revises: 0005
Create Date: 2026-11-26 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011_front_door_retention'
down_revision = '0005'
branch_labels = None
depends_on = '0006_front_door'


def upgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
        for column in ('referrer', 'reason', 'subjects'):
            batch_op.alter_column(column, existing_type=sa.Text(), nullable=True)
    with op.batch_alter_table('contact_reratings', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.Text(), nullable=True)
    with op.batch_alter_table('contact_consent_checks', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.Text(), nullable=True)
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column('rationale', existing_type=sa.Text(), nullable=True)
        batch_op.alter_column('jws', existing_type=sa.Text(), nullable=True)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # Purged rows cannot get their personal data back: downgrading needs none purged.
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.alter_column('body', existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.alter_column('jws', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('rationale', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('purged_at')
    with op.batch_alter_table('contact_consent_checks', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table('contact_reratings', schema=None) as batch_op:
        batch_op.alter_column('reason', existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        for column in ('subjects', 'reason', 'referrer'):
            batch_op.alter_column(column, existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('purged_at')
