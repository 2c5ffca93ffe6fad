"""Issuing the signed summary, and a new version whenever a late reply changes it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from broker.adapters.db.repository import StoredSummary
from broker.domain.audit import AuditEntry
from broker.domain.enquiry import Enquiry
from broker.domain.summary import compose_summary
from broker.service import audit_trail
from broker.service.ports import Clock, Signer, UnitOfWork

SUMMARY_JWS_TYP = "mash-enquiry-summary+jws"


async def issue_summary(
    enquiry: Enquiry, *, uow: UnitOfWork, signer: Signer, clock: Clock, new_id: Callable[[], str],
    audit: Sequence[AuditEntry] = (),
) -> StoredSummary:
    """Sign the summary of a closed enquiry as the next version, superseding the last.

    `audit` holds the caller's own entries: they are appended with the summary's, after
    the signing, because on PostgreSQL appending holds the log's lock until commit.
    """
    previous = await uow.summaries.latest(enquiry.enquiry_id)
    version = previous.version + 1 if previous else 1
    issued_at = clock.now()
    summary_id = new_id()
    payload = compose_summary(
        enquiry,
        summary_id=summary_id,
        version=version,
        issued_at=issued_at,
        supersedes=previous.summary_id if previous else None,
    )
    # The latest signed audit checkpoint travels with every summary, so whoever holds a
    # summary holds evidence of the log's state outside our database.
    latest = await uow.audit.latest_checkpoint()
    payload["audit_checkpoint"] = {**latest[0].payload(), "jws": latest[1]} if latest else None
    jws = signer.sign(payload, typ=SUMMARY_JWS_TYP)
    stored = StoredSummary(
        summary_id=summary_id,
        enquiry_id=enquiry.enquiry_id,
        version=version,
        supersedes=previous.summary_id if previous else None,
        issued_at=issued_at,
        jws=jws,
    )
    await uow.summaries.add(stored)
    await uow.audit.append(*audit, audit_trail.summary_issued(enquiry, summary_id, version, issued_at))
    return stored
