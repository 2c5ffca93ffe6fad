"""front door: contacts, re-ratings, consent checks, signed decisions, referrer feedback,
notifications to allocated workers

Revision ID: 0006_front_door
Revises: 0005
Create Date: 2026-11-26 15:18:14.358811
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_front_door'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('contacts',
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('authority', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('referrer', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('subjects', sa.Text(), nullable=False),
    sa.Column('consent', sa.Text(), nullable=True),
    sa.Column('brag', sa.String(length=8), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_basis', sa.String(length=16), nullable=True),
    sa.Column('due_outside_hours', sa.Boolean(), nullable=True),
    sa.Column('allocated_worker_id', sa.String(length=200), nullable=True),
    sa.Column('allocated_worker', sa.Text(), nullable=True),
    sa.Column('proposed_brag', sa.String(length=8), nullable=True),
    sa.Column('proposed_by', sa.String(length=200), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('proposal_rationale', sa.Text(), nullable=True),
    sa.Column('sanctioned_brag', sa.String(length=8), nullable=True),
    sa.Column('sanctioned_by', sa.String(length=200), nullable=True),
    sa.Column('sanctioned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sanction_as_proposed', sa.Boolean(), nullable=True),
    sa.Column('sanction_rationale', sa.Text(), nullable=True),
    sa.Column('sanction_reason', sa.Text(), nullable=True),
    sa.Column('universal_advice', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('enquiry_id', sa.String(length=36), nullable=True),
    sa.Column('enquiry_opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_id', sa.String(length=36), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('idempotency_key', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['enquiry_id'], ['enquiries.enquiry_id'], name=op.f('fk_contacts_enquiry_id_enquiries')),
    sa.PrimaryKeyConstraint('contact_id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('enquiry_id', name=op.f('uq_contacts_enquiry_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_contacts_idempotency_key'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_allocated_worker_id', ['allocated_worker_id'], unique=False)
        batch_op.create_index('ix_contacts_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_contacts_state_due_at', ['state', 'due_at'], unique=False)

    op.create_table('contact_consent_checks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_by', sa.String(length=200), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('consent', sa.Text(), nullable=True),
    sa.Column('enquiry_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.contact_id'], name=op.f('fk_contact_consent_checks_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_consent_checks')),
    sa.UniqueConstraint('contact_id', 'seq', name='uq_contact_consent_checks_contact_seq')
    )
    op.create_table('contact_reratings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('from_brag', sa.String(length=8), nullable=False),
    sa.Column('to_brag', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('rerated_by', sa.String(length=200), nullable=False),
    sa.Column('rerated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at_after', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.contact_id'], name=op.f('fk_contact_reratings_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_reratings')),
    sa.UniqueConstraint('contact_id', 'seq', name='uq_contact_reratings_contact_seq')
    )
    op.create_table('decisions',
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('enquiry_id', sa.String(length=36), nullable=True),
    sa.Column('summary_id', sa.String(length=36), nullable=True),
    sa.Column('summary_sha256', sa.String(length=64), nullable=True),
    sa.Column('brag', sa.String(length=8), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rationale', sa.Text(), nullable=False),
    sa.Column('jws', sa.Text(), nullable=False),
    sa.Column('jws_sha256', sa.String(length=64), nullable=False),
    sa.Column('kid', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.contact_id'], name=op.f('fk_decisions_contact_id_contacts')),
    sa.PrimaryKeyConstraint('decision_id', name=op.f('pk_decisions')),
    sa.UniqueConstraint('contact_id', name=op.f('uq_decisions_contact_id'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index('ix_decisions_decided_at', ['decided_at'], unique=False)

    op.create_table('notifications',
    sa.Column('notification_id', sa.String(length=36), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.contact_id'], name=op.f('fk_notifications_contact_id_contacts')),
    sa.PrimaryKeyConstraint('notification_id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_recipient_delivered', ['recipient', 'delivered_at'], unique=False)

    op.create_table('referrer_feedback',
    sa.Column('feedback_id', sa.String(length=36), nullable=False),
    sa.Column('contact_id', sa.String(length=36), nullable=False),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('given_by', sa.String(length=200), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.contact_id'], name=op.f('fk_referrer_feedback_contact_id_contacts')),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.decision_id'], name=op.f('fk_referrer_feedback_decision_id_decisions')),
    sa.PrimaryKeyConstraint('feedback_id', name=op.f('pk_referrer_feedback')),
    sa.UniqueConstraint('contact_id', name=op.f('uq_referrer_feedback_contact_id'))
    )


def downgrade() -> None:
    op.drop_table('referrer_feedback')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_recipient_delivered')

    op.drop_table('notifications')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_decided_at')

    op.drop_table('decisions')
    op.drop_table('contact_reratings')
    op.drop_table('contact_consent_checks')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_state_due_at')
        batch_op.drop_index('ix_contacts_received_at')
        batch_op.drop_index('ix_contacts_allocated_worker_id')

    op.drop_table('contacts')
