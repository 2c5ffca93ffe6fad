"""audit log: audit_events (append-only Merkle log) and audit_checkpoints

On PostgreSQL, UPDATE, DELETE and TRUNCATE of both tables are revoked from PUBLIC and refused
by triggers, so even the table owner (what the application connects as in development) cannot
rewrite history by mistake. In production the application role must not own these tables and
should be granted only SELECT and INSERT on them; an owner or superuser can still disable the
triggers, which the signed checkpoints held outside the database expose.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

APPEND_ONLY_FUNCTION = """
CREATE FUNCTION mash_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""

APPEND_ONLY_TABLES = ('audit_events', 'audit_checkpoints')


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('enquiry_id', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.Column('root_after', sa.String(length=64), nullable=False),
    sa.Column('frontier', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('index', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_enquiry_id', ['enquiry_id'], unique=False)

    op.create_table('audit_checkpoints',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('size', name=op.f('pk_audit_checkpoints'))
    )

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(APPEND_ONLY_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC')
            op.execute(
                f'CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} '
                f'FOR EACH ROW EXECUTE FUNCTION mash_audit_append_only()'
            )
            op.execute(
                f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} '
                f'FOR EACH STATEMENT EXECUTE FUNCTION mash_audit_append_only()'
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in APPEND_ONLY_TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}')
            op.execute(f'DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}')
        op.execute('DROP FUNCTION IF EXISTS mash_audit_append_only()')
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_enquiry_id')

    op.drop_table('audit_events')
