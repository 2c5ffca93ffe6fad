"""Recording a partner's reply: untrusted input, verified before it can change anything."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import pydantic
import structlog

from adapters.sdk.messages import REPLY_JWS_TYP, REPLY_TYPE, Envelope
from adapters.sdk.messages import PartnerReply as WireReply
from adapters.sdk.signing import SignatureInvalid, import_public_jwk, unverified_claims, verify
from broker.domain.brag import Brag
from broker.domain.enquiry import Enquiry, EnquiryState
from broker.domain.errors import DomainError
from broker.domain.replies import Finding, PartnerReply, SubjectMatch
from broker.service import audit_trail
from broker.service.ports import AgreementRegistry, Clock, Signer, UnitOfWorkFactory
from broker.service.summaries import issue_summary

log = structlog.get_logger("mash.replies")


@dataclass(frozen=True, slots=True)
class ReplyResult:
    outcome: str  # recorded | duplicate | rejected
    reason: str = ""
    enquiry_id: str | None = None
    partner_id: str | None = None
    request_id: str | None = None
    summary_version: int | None = None


class _Rejected(Exception):
    def __init__(self, reason: str, **ids: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ids = ids


def describe_validation_error(error: pydantic.ValidationError) -> str:
    """Where and what, never the offending value (it may be personal data)."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors()[:5]]
    more = error.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _to_domain(reply: WireReply, jws: str) -> PartnerReply:
    return PartnerReply(
        request_id=reply.request_id,
        enquiry_id=reply.enquiry_id,
        partner_id=reply.partner_id,
        outcome=reply.outcome,
        findings=tuple(
            Finding(
                category=f.category,
                date=f.date,
                summary=f.summary,
                source_system=f.source_system,
                source_reference=f.source_reference,
                match=SubjectMatch(
                    subject_ref=f.match.subject_ref,
                    method=f.match.method,
                    confidence=f.match.confidence,
                    identifier_type=f.match.identifier_type,
                ),
                sos_domain=f.sos_domain,
                dissemination=f.dissemination,
            )
            for f in reply.findings
        ),
        brag=Brag(reply.brag.rating) if reply.brag else None,
        brag_rationale=reply.brag.rationale if reply.brag else None,
        declined_reason=reply.declined_reason,
        replied_at=reply.replied_at if reply.replied_at.tzinfo else reply.replied_at.replace(tzinfo=dt.UTC),
        signed_reply=jws,
    )


def _check_scope(reply: WireReply, enquiry: Enquiry) -> None:
    request = enquiry.request(reply.request_id)
    asked = set(request.categories)
    subjects = {s.subject_ref for s in enquiry.subjects}
    for index, finding in enumerate(reply.findings):
        if finding.category not in asked:
            raise _Rejected(
                f"findings.{index}: category {finding.category!r} was not requested "
                "(the agreement does not allow it for this enquiry)"
            )
        if finding.match.subject_ref not in subjects:
            raise _Rejected(f"findings.{index}: matches unknown subject_ref")


def _verified_reply(
    jws: str, agreement_id: str | None, agreement_version: str | None,
    agreements: AgreementRegistry, ids: dict[str, str],
) -> WireReply:
    """The reply, once its signature has verified against the partner's key in the agreement
    the request went under, and it is bound to that request's partner and enquiry."""
    partner_id = ids["partner_id"]
    if agreement_id is None or agreement_version is None:
        raise _Rejected(f"partner {partner_id} was not asked", **ids)
    jwk = agreements.partner_jwk(agreement_id, agreement_version, partner_id)
    if jwk is None:
        raise _Rejected("no key for this partner in the agreement the request was sent under", **ids)
    try:
        payload = verify(jws, import_public_jwk(jwk), typ=REPLY_JWS_TYP)
    except SignatureInvalid as error:
        raise _Rejected(f"partner signature: {error}", **ids) from None
    try:
        wire = WireReply.model_validate(payload)
    except pydantic.ValidationError as error:
        raise _Rejected(f"reply schema: {describe_validation_error(error)}", **ids) from None
    if wire.partner_id != partner_id or wire.enquiry_id != ids["enquiry_id"]:
        raise _Rejected("reply is bound to another partner or enquiry than its request", **ids)
    return wire


async def record_reply(
    body: bytes,
    *,
    message_id: str | None,
    queue: str,
    uow_factory: UnitOfWorkFactory,
    agreements: AgreementRegistry,
    signer: Signer,
    clock: Clock,
    new_id: Callable[[], str],
    sender: str | None = None,
    require_sender: bool = False,
) -> ReplyResult:
    """Verify and record one reply; a bad one is recorded as rejected with its reason.

    Order matters: the envelope and the request id are read without trust only to
    find which partner's key must verify the signature; nothing from the payload
    is believed until the signature has verified against the key in the agreement.
    Transient errors (the database) propagate so the caller can retry delivery.
    """
    try:
        return await _record(
            body, uow_factory=uow_factory, agreements=agreements, signer=signer,
            clock=clock, new_id=new_id, sender=sender, require_sender=require_sender,
        )
    except _Rejected as rejected:
        async with uow_factory() as uow:
            await uow.rejections.add(
                message_id=(message_id or "")[:200] or None,
                received_at=clock.now(),
                queue=queue,
                reason=rejected.reason[:2000],
                enquiry_id=rejected.ids.get("enquiry_id"),
                request_id=rejected.ids.get("request_id"),
                partner_id=rejected.ids.get("partner_id"),
                body_sha256=hashlib.sha256(body).hexdigest(),
            )
            await uow.audit.append(audit_trail.reply_rejected(rejected.reason, clock.now(), **rejected.ids))
            await uow.commit()
        log.warning("reply_rejected", message_id=message_id, reason=rejected.reason, **rejected.ids)
        return ReplyResult("rejected", rejected.reason, **rejected.ids)


async def _record(
    body: bytes, *, uow_factory: UnitOfWorkFactory, agreements: AgreementRegistry, signer: Signer,
    clock: Clock, new_id: Callable[[], str], sender: str | None, require_sender: bool,
) -> ReplyResult:
    try:
        envelope = Envelope.model_validate_json(body)
    except pydantic.ValidationError as error:
        raise _Rejected(f"malformed envelope: {describe_validation_error(error)}") from None
    if envelope.type != REPLY_TYPE:
        raise _Rejected(f"expected a {REPLY_TYPE}, got {envelope.type}")
    try:
        _, claims = unverified_claims(envelope.jws)
    except SignatureInvalid as error:
        raise _Rejected(str(error)) from None
    request_id = claims.get("request_id")
    if not isinstance(request_id, str) or len(request_id) > 64:
        raise _Rejected("reply names no request_id")

    async with uow_factory() as uow:
        owner = await uow.enquiries.request_owner(request_id)
        if owner is None:
            raise _Rejected("reply to a request the broker never sent (unknown request_id)")
        enquiry_id, partner_id = owner.enquiry_id, owner.partner_id
        ids = {"enquiry_id": enquiry_id, "partner_id": partner_id, "request_id": request_id}
        # `sender` is the partner named by the AMQP user_id, which RabbitMQ validated
        # against the connection's user: a second proof of origin besides the signature.
        if require_sender and sender is None:
            raise _Rejected("reply carries no validated user_id of a partner", **ids)
        if sender is not None and sender != partner_id:
            raise _Rejected("the sending RabbitMQ user is not the partner this request went to", **ids)
        # Verified before the enquiry is locked: the request's partner and agreement never
        # change, and replies to one enquiry queue behind its lock, so the lock is held for
        # the recording alone, not for a signature check and a schema validation too.
        wire = _verified_reply(envelope.jws, owner.agreement_id, owner.agreement_version, agreements, ids)
        enquiry = await uow.enquiries.get(enquiry_id, for_update=True)
        assert enquiry is not None
        _check_scope(wire, enquiry)
        was_closed = enquiry.state is not EnquiryState.DISPATCHED
        try:
            changed = enquiry.record_reply(_to_domain(wire, envelope.jws), clock.now())
        except DomainError as error:
            raise _Rejected(str(error), **ids) from None
        if not changed:
            return ReplyResult("duplicate", "already recorded for this request", **ids)
        await uow.enquiries.save(enquiry)
        recorded = audit_trail.reply_recorded(
            enquiry_id, partner_id, request_id, wire.outcome, was_closed, clock.now()
        )
        summary_version = None
        if enquiry.state is not EnquiryState.DISPATCHED:
            # Closed just now by this reply, or a late reply to a partial enquiry:
            # either way the manager needs a (new) signed summary.
            stored = await issue_summary(
                enquiry, uow=uow, signer=signer, clock=clock, new_id=new_id, audit=[recorded]
            )
            summary_version = stored.version
        else:
            await uow.audit.append(recorded)
        await uow.commit()
    log.info(
        "reply_recorded",
        outcome=wire.outcome,
        late=was_closed,
        summary_version=summary_version,
        findings=len(wire.findings),
        **ids,
    )
    return ReplyResult("recorded", enquiry_id=enquiry_id, partner_id=partner_id,
                       request_id=request_id, summary_version=summary_version)
