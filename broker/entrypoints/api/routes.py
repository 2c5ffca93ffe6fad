"""HTTP routes: parse, call a use case or a view, shape the answer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from adapters.sdk.signing import SignatureInvalid, key_set, verify
from broker.adapters.db.repository import StoredSummary
from broker.bootstrap import Broker
from broker.domain.brag import Brag
from broker.domain.consent import ConsentDecision, ConsentStatus
from broker.domain.enquiry import Enquiry, RequestStatus
from broker.domain.subject import Subject
from broker.domain.access import Principal
from broker.entrypoints.api.deps import BrokerDep, PrincipalDep
from broker.entrypoints.api.schemas import (
    EnquiryCreate,
    EnquiryList,
    EnquiryListItem,
    EnquiryRead,
    GateRead,
    LatePartner,
    PartnerRead,
    Problem,
    SummaryRead,
    SummaryRef,
)
from broker.service.open_enquiry import OpenEnquiry
from broker.service.queries import list_enquiries as list_enquiries_for
from broker.service.queries import read_audit, read_enquiry_page, read_summaries
from broker.service.summaries import SUMMARY_JWS_TYP

router = APIRouter()

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Malformed request"},
    413: {"model": Problem, "description": "Request body too large"},
    429: {"model": Problem, "description": "Rate limit; retry after Retry-After"},
    401: {"model": Problem, "description": "No valid bearer token"},
    403: {"model": Problem, "description": "The caller's roles do not allow this"},
    404: {"model": Problem, "description": "No such enquiry"},
    410: {"model": Problem, "description": "Purged at the end of the agreement's retention period"},
    422: {"model": Problem, "description": "Invalid input, with the reason"},
    503: {"model": Problem, "description": "A dependency is unavailable; retry after Retry-After"},
}


def _partner(enquiry: Enquiry, index: int) -> PartnerRead:
    r = enquiry.requests[index]
    outcome = "purged" if r.purged_at else {
        RequestStatus.NOT_ASKED: "not_asked",
        RequestStatus.NO_REPLY: "no_reply",
        RequestStatus.PENDING: "pending",
        RequestStatus.UNDELIVERABLE: "undeliverable",
    }.get(r.status, r.reply.outcome if r.reply else "pending")
    return PartnerRead(
        partner_id=r.partner_id,
        partner_name=r.partner_name,
        status=r.status.value,
        outcome=outcome,
        reason=r.reason or (r.reply.declined_reason if r.reply else None),
        categories=list(r.categories),
        agreement=(
            {"id": r.agreement_id, "version": r.agreement_version or ""} if r.agreement_id else None
        ),
        late=r.late,
        chased_at=r.chased_at,
        replied_at=r.reply.replied_at if r.reply else None,
        brag=r.reply.brag.value if r.reply and r.reply.brag else None,
        findings=len(r.reply.findings) if r.reply else 0,
    )


async def _read(broker: Broker, principal: Principal, enquiry_id: str) -> EnquiryRead:
    page = await read_enquiry_page(broker.views, principal, enquiry_id)
    return _represent(page.enquiry, page.summaries, page.rejections, broker.clock.now())


def _represent(
    enquiry: Enquiry, summaries: list[StoredSummary], rejections: list[dict[str, Any]], now: dt.datetime
) -> EnquiryRead:
    enquiry_id = enquiry.enquiry_id
    suggested = enquiry.suggested_brag()
    allowed = (enquiry.deadline_at - enquiry.opened_at).total_seconds()
    late = [
        LatePartner(
            partner_id=request.partner_id,
            chased_at=request.chased_at,  # type: ignore[arg-type]
            waiting_s=round(waited.total_seconds(), 1),
            share_of_time_used=round(waited.total_seconds() / allowed, 3),
            deadline_in_s=round((enquiry.deadline_at - now).total_seconds(), 1),
        )
        for request, waited in enquiry.drifting(now)
    ]
    return EnquiryRead(
        enquiry_id=enquiry.enquiry_id,
        state=enquiry.state.value,
        purpose=enquiry.purpose,
        brag=enquiry.brag.value,
        opened_by=enquiry.opened_by,
        opened_at=enquiry.opened_at,
        deadline_at=enquiry.deadline_at,
        dispatched_at=enquiry.dispatched_at,
        closed_at=enquiry.closed_at,
        completion=enquiry.completion,
        refusal_reason=enquiry.refusal_reason,
        suggested_brag=suggested.value if suggested else None,
        at_risk_of_drift=bool(late),
        late_partners=late,
        gate_decisions=[
            GateRead(gate=g.gate, partner_id=g.partner_id, passed=g.passed, reason=g.reason)
            for g in enquiry.gate_outcomes
        ],
        partners=[_partner(enquiry, i) for i in range(len(enquiry.requests))],
        summaries=[
            SummaryRef(
                summary_id=s.summary_id,
                version=s.version,
                issued_at=s.issued_at,
                supersedes=s.supersedes,
                href=f"/enquiries/{enquiry_id}/summary?version={s.version}",
            )
            for s in summaries
        ],
        rejected_messages=rejections,
    )


def _command(
    body: EnquiryCreate, broker: Broker, idempotency_key: str | None, actor: Principal
) -> OpenEnquiry:
    subjects = tuple(Subject.create(**s.model_dump()) for s in body.subjects)
    consent = None
    if body.consent is not None:
        data = body.consent.model_dump()
        consent = ConsentDecision(**{**data, "status": ConsentStatus(data["status"])})
    return OpenEnquiry(
        purpose=body.purpose or broker.settings.default_purpose,
        brag=Brag(body.brag),
        subjects=subjects,
        consent=consent,
        actor=actor,
        categories=frozenset(body.categories) if body.categories is not None else None,
        idempotency_key=idempotency_key,
    )


@router.post(
    "/enquiries",
    status_code=201,
    response_model=EnquiryRead,
    responses=ERRORS,
    summary="Open an enquiry",
)
async def create_enquiry(
    body: EnquiryCreate,
    request: Request,
    broker: BrokerDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> EnquiryRead:
    """Open an enquiry: the consent and agreement gates run first; a refusal is recorded
    (state `refused`, with its reason) and nothing is sent to any partner."""
    command = _command(body, broker, idempotency_key, principal)
    too_soon = request.app.state.open_rate.take(principal.subject)
    if too_soon:
        raise HTTPException(
            429, "too many enquiries opened; try again later",
            headers={"Retry-After": str(int(too_soon))},
        )
    wait = broker.accepting()
    if wait:
        # RabbitMQ refused publishes (its queues are full): the enquiries already
        # accepted wait safely in the outbox; take no new ones until it drains.
        raise HTTPException(
            503,
            "the message broker is refusing new messages (queues full); try again later",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    opened = await broker.open_enquiry(command)
    response.headers["Location"] = f"/enquiries/{opened.enquiry_id}"
    if opened.replayed:
        response.status_code = 200  # as it stands now: it may have replies and summaries
        return await _read(broker, principal, opened.enquiry_id)
    # Just committed, so nothing has been rejected or summarised yet: answer from what the
    # use case holds instead of reading it back (three connections and five statements).
    return _represent(opened.enquiry, [], [], broker.clock.now())


@router.get("/enquiries", response_model=EnquiryList, responses=ERRORS, summary="List enquiries")
async def list_enquiries(
    broker: BrokerDep,
    principal: PrincipalDep,
    state: Annotated[
        str | None, Query(pattern="^(opened|refused|dispatched|complete|partial)$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[dt.datetime | None, Query(description="page: opened before this time")] = None,
) -> EnquiryList:
    """Enquiries, newest first, with how many partners are still awaited."""
    rows = await list_enquiries_for(broker.views, principal, state=state, limit=limit, before=before)
    items = [EnquiryListItem(**row) for row in rows]
    return EnquiryList(items=items, next_before=items[-1].opened_at if len(items) == limit else None)


@router.get(
    "/enquiries/{enquiry_id}", response_model=EnquiryRead, responses=ERRORS, summary="One enquiry"
)
async def get_enquiry(enquiry_id: str, broker: BrokerDep, principal: PrincipalDep) -> EnquiryRead:
    """State, gate decisions and each partner's outcome."""
    return await _read(broker, principal, enquiry_id)


@router.get(
    "/enquiries/{enquiry_id}/summary",
    response_model=SummaryRead,
    responses={
        **ERRORS,
        200: {"content": {"application/jose": {"schema": {"type": "string"}}}},
    },
    summary="The signed summary",
)
async def get_summary(
    enquiry_id: str,
    request: Request,
    broker: BrokerDep,
    principal: PrincipalDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    """The latest (or a given) version: `Accept: application/jose` gives the compact JWS,
    otherwise a JSON view with the decoded payload and whether it verifies."""
    history = await read_summaries(
        broker.views, principal, enquiry_id, record=broker.record_audit, now=broker.clock.now()
    )
    if not history:
        raise HTTPException(404, "no summary yet: the enquiry is not closed")
    chosen = history[-1] if version is None else next((s for s in history if s.version == version), None)
    if chosen is None:
        raise HTTPException(404, f"no summary version {version}")
    if chosen.purged_at is not None:
        raise HTTPException(
            410,
            f"purged on {chosen.purged_at.date().isoformat()}: the agreement's retention period "
            f"ended; sha256 of the signed summary was {chosen.jws_sha256}",
        )
    if "application/jose" in request.headers.get("accept", ""):
        return Response(chosen.jws, media_type="application/jose")
    try:
        payload = verify(chosen.jws, key_set(broker.signer.jwks()["keys"]), typ=SUMMARY_JWS_TYP)
        verified = True
    except SignatureInvalid:
        payload, verified = {}, False
    return SummaryRead(
        summary_id=chosen.summary_id,
        enquiry_id=enquiry_id,
        version=chosen.version,
        supersedes=chosen.supersedes,
        issued_at=chosen.issued_at,
        verified=verified,
        kid=broker.signer.kid,
        jws=chosen.jws,
        payload=payload,
    )


@router.get("/audit", responses=ERRORS, summary="The audit log (auditors and admins)")
async def audit_log(
    broker: BrokerDep,
    principal: PrincipalDep,
    after: Annotated[int, Query(ge=-1, description="events with a higher index")] = -1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Audit events in order with their leaf hashes and running roots, and the latest signed
    checkpoint, so an auditor can check inclusion and consistency independently."""
    events, checkpoint = await read_audit(broker.views, principal, after=after, limit=limit)
    return {"events": events, "checkpoint": checkpoint,
            "next_after": events[-1]["index"] if len(events) == limit else None}


@router.get("/.well-known/jwks.json", summary="Public keys that verify our signatures")
async def jwks(broker: BrokerDep) -> JSONResponse:
    """The broker's current and retired public keys (JWKS, RFC 7517)."""
    return JSONResponse(broker.signer.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Liveness only: answers while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", summary="Database and transport answer", responses={503: {"model": Problem}})
async def readyz(broker: BrokerDep) -> JSONResponse:
    """Readiness: the database answers a query and the transport is connected."""
    checks: dict[str, str] = {}
    try:
        await broker.views.ping()
        checks["database"] = "ok"
    except Exception as error:  # any failure means not ready
        checks["database"] = f"unavailable: {type(error).__name__}"
    checks["transport"] = "ok" if broker.transport_ready() else "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
        headers={} if ready else {"Retry-After": "5"},
    )
