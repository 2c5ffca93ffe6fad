"""The front door's tables (contacts, screening history, decisions, referrer feedback,
notifications) on the shared metadata. Migration 0006_front_door creates exactly these.

Personal data is sealed (AES-GCM, crypto.py), bound to table, column and row: the referrer,
the reason, the subjects, consent records, Signs of Safety rationales, re-rating reasons,
universal-services advice, decision rationales and the signed decision itself. Ratings,
states, times and staff ids stay in clear: the timeliness dashboard counts them.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from broker.adapters.db.tables import TZ, metadata

contacts = Table(
    "contacts",
    metadata,
    Column("contact_id", String(36), primary_key=True),
    Column("authority", String(64), nullable=False),
    Column("state", String(32), nullable=False),
    Column("received_at", TZ, nullable=False),
    Column("recorded_at", TZ, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("referrer", Text),  # sealed; NULL once purged (retention ended)
    Column("reason", Text),  # sealed; NULL once purged
    Column("subjects", Text),  # sealed; NULL once purged
    Column("consent", Text),  # sealed: as the referrer reported it
    Column("brag", String(8)),  # the current (sanctioned or re-rated) rating
    Column("due_at", TZ),
    Column("due_basis", String(16)),  # wall_clock | working_hours | out_of_hours
    Column("due_outside_hours", Boolean),
    Column("allocated_worker_id", String(200)),
    Column("allocated_worker", Text),  # sealed: name, team, case id, which subject matched how
    Column("proposed_brag", String(8)),
    Column("proposed_by", String(200)),
    Column("proposed_at", TZ),
    Column("proposal_rationale", Text),  # sealed (Signs of Safety)
    Column("sanctioned_brag", String(8)),
    Column("sanctioned_by", String(200)),
    Column("sanctioned_at", TZ),
    Column("sanction_as_proposed", Boolean),
    Column("sanction_rationale", Text),  # sealed (Signs of Safety, when the manager screened)
    Column("sanction_reason", Text),  # sealed
    Column("universal_advice", Text),  # sealed
    Column("closed_at", TZ),
    Column("closed_by", String(200)),
    Column("enquiry_id", String(36), ForeignKey("enquiries.enquiry_id"), unique=True),
    Column("enquiry_opened_at", TZ),
    Column("decision_id", String(36)),
    Column("decided_at", TZ),
    Column("idempotency_key", String(200), unique=True),
    Column("purged_at", TZ),  # personal data removed when its retention ended (0011)
    Index("ix_contacts_state_due_at", "state", "due_at"),
    Index("ix_contacts_received_at", "received_at"),
    Index("ix_contacts_allocated_worker_id", "allocated_worker_id"),
)

contact_reratings = Table(
    "contact_reratings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", String(36), ForeignKey("contacts.contact_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("from_brag", String(8), nullable=False),
    Column("to_brag", String(8), nullable=False),
    Column("reason", Text),  # sealed; NULL once purged
    Column("rerated_by", String(200), nullable=False),
    Column("rerated_at", TZ, nullable=False),
    Column("due_at_after", TZ),
    UniqueConstraint("contact_id", "seq", name="uq_contact_reratings_contact_seq"),
)

contact_consent_checks = Table(
    "contact_consent_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", String(36), ForeignKey("contacts.contact_id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("checked_at", TZ, nullable=False),
    Column("checked_by", String(200), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("status", String(16)),  # the consent status checked (None: none recorded)
    Column("reason", Text),  # sealed: the gate's reason names people; NULL once purged
    Column("consent", Text),  # sealed: the consent decision as it stood then
    Column("enquiry_id", String(36)),
    UniqueConstraint("contact_id", "seq", name="uq_contact_consent_checks_contact_seq"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("contact_id", String(36), ForeignKey("contacts.contact_id"), nullable=False, unique=True),
    Column("enquiry_id", String(36)),
    Column("summary_id", String(36)),
    Column("summary_sha256", String(64)),
    Column("brag", String(8)),
    Column("outcome", String(40), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", TZ, nullable=False),
    Column("rationale", Text),  # sealed; NULL once purged
    Column("jws", Text),  # sealed: the signed decision record; NULL once purged
    Column("jws_sha256", String(64), nullable=False),  # kept after a purge (tombstone)
    Column("kid", String(100), nullable=False),
    Column("purged_at", TZ),
    Index("ix_decisions_decided_at", "decided_at"),
)

referrer_feedback = Table(
    "referrer_feedback",
    metadata,
    Column("feedback_id", String(36), primary_key=True),
    Column("contact_id", String(36), ForeignKey("contacts.contact_id"), nullable=False, unique=True),
    Column("decision_id", String(36), ForeignKey("decisions.decision_id"), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("due_at", TZ),
    Column("given_at", TZ),
    Column("given_by", String(200)),
    Column("method", String(16)),
)

notifications = Table(
    "notifications",
    metadata,
    Column("notification_id", String(36), primary_key=True),
    Column("recipient", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("contact_id", String(36), ForeignKey("contacts.contact_id"), nullable=False),
    Column("created_at", TZ, nullable=False),
    Column("delivered_at", TZ),
    Column("body", Text),  # sealed: what the worker is told about the contact; NULL once purged
    Column("acknowledged_at", TZ),  # migration 0011: the recipient acknowledged it (UI/API)
    Column("acknowledged_by", String(200)),
    Index("ix_notifications_recipient_delivered", "recipient", "delivered_at"),
)
