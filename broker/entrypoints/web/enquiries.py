"""Enquiry pages: the list, opening one (with its consent record), the live enquiry page and
its event stream, and the signed summary. Every page calls the same use cases and access
rules as the JSON API."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from adapters.sdk.messages import REPLY_JWS_TYP
from adapters.sdk.signing import SignatureInvalid, import_public_jwk, key_set, verify
from agreements.loader import load_directory
from broker.domain.access import AUDITOR, MASH_MANAGER, SCREENING_OFFICER, SOCIAL_WORKER, Principal
from broker.domain.enquiry import Enquiry, EnquiryState, RequestStatus
from broker.entrypoints.api.routes import _command
from broker.entrypoints.api.schemas import EnquiryCreate
from broker.entrypoints.web.core import (
    TEMPLATES,
    UiPrincipal,
    UiRoute,
    broker_of,
    problem_page,
    read_form,
    render,
)
from broker.service.queries import list_enquiries, read_enquiry, read_summaries
from broker.service.summaries import SUMMARY_JWS_TYP

router = APIRouter(route_class=UiRoute)

CLOSED = (EnquiryState.COMPLETE, EnquiryState.PARTIAL, EnquiryState.REFUSED)
POLL_S = 0.5
STREAM_S = 600.0  # the browser reconnects after this


@dataclass(frozen=True)
class PartnerRow:
    partner_id: str
    partner_name: str
    status: str  # pending | replied | no_trace | declined | no_reply | not_asked | undeliverable | purged
    brag: str | None
    brag_rationale: str | None
    findings: int
    replied_at: dt.datetime | None
    reason: str | None
    late: bool
    chased: bool


def partner_rows(enquiry: Enquiry) -> list[PartnerRow]:
    rows = []
    for r in enquiry.requests:
        reply = r.reply
        if r.purged_at:
            status = "purged"
        elif r.status is RequestStatus.NOT_ASKED:
            status = "not_asked"
        elif r.status is RequestStatus.NO_REPLY and reply is None:
            status = "no_reply"
        elif r.status is RequestStatus.UNDELIVERABLE:
            status = "undeliverable"
        elif reply is None:
            status = "pending"
        else:
            status = {"findings": "replied"}.get(reply.outcome, reply.outcome)
        rows.append(PartnerRow(
            partner_id=r.partner_id,
            partner_name=r.partner_name,
            status=status,
            brag=reply.brag.value if reply and reply.brag else None,
            brag_rationale=reply.brag_rationale if reply else None,
            findings=len(reply.findings) if reply else 0,
            replied_at=reply.replied_at if reply else None,
            reason=r.reason or (reply.declined_reason if reply else None),
            late=r.late,
            chased=r.chased_at is not None,
        ))
    return rows


@router.get("/ui/", include_in_schema=False)
async def home(principal: UiPrincipal) -> Response:
    if principal.has(SOCIAL_WORKER) and not (principal.has(SCREENING_OFFICER) or principal.has(MASH_MANAGER)
                                             or principal.has(AUDITOR)):
        return RedirectResponse("/ui/notifications", status_code=303)  # their page: "Routed to me"
    return RedirectResponse("/ui/enquiries", status_code=303)


@router.get("/ui/enquiries", response_class=HTMLResponse, include_in_schema=False)
async def enquiries_page(
    request: Request,
    principal: UiPrincipal,
    state: Annotated[str | None, Query(pattern="^(opened|refused|dispatched|complete|partial)$")] = None,
) -> Response:
    broker = broker_of(request)
    rows = await list_enquiries(broker.views, principal, state=state, limit=100, before=None)
    return render(request, "enquiries.html", {"rows": rows, "state": state}, principal)


CONSENT_STATUSES = (
    ("given", "Given"), ("refused", "Refused"), ("not_sought", "Not sought"), ("withdrawn", "Withdrawn"),
)


def consent_choices(principal: Principal) -> tuple[tuple[str, str], ...]:
    """Proceeding without consent is a manager's decision (access.authorize_open): officers are
    offered "given" only; the service refuses anything else from them anyway (403)."""
    return CONSENT_STATUSES if principal.has(MASH_MANAGER) else CONSENT_STATUSES[:1]


def _form_context(principal: Principal, form: dict[str, str] | None = None,
                  errors: list[str] | None = None) -> dict[str, Any]:
    return {"form": form or {}, "errors": errors or [], "consent_statuses": consent_choices(principal)}


@router.get("/ui/enquiries/new", response_class=HTMLResponse, include_in_schema=False)
async def new_enquiry_page(request: Request, principal: UiPrincipal) -> Response:
    return render(request, "enquiry_new.html", _form_context(principal), principal)


def _blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def enquiry_body(form: dict[str, str], principal: Principal, now: dt.datetime) -> dict[str, Any]:
    """The form as the API's POST /enquiries body (so the same validation applies)."""
    child = {
        "subject_ref": "S1",
        "role": "child",
        "given_name": form.get("given_name", ""),
        "family_name": form.get("family_name", ""),
        "date_of_birth": _blank_to_none(form.get("date_of_birth")),
        "sex": form.get("sex") or "unknown",
        "address": _blank_to_none(form.get("address")),
        "postcode": _blank_to_none(form.get("postcode")),
        "nhs_number": _blank_to_none(form.get("nhs_number")),
        "upn": _blank_to_none(form.get("upn")),
    }
    consent = {
        "status": form.get("consent_status", ""),
        "decided_by": principal.subject,
        "decided_at": now.isoformat(),
        "given_by": _blank_to_none(form.get("given_by")),
        "approved_by": _blank_to_none(form.get("approved_by")),
        "reason": _blank_to_none(form.get("consent_reason")),
        "lawful_basis": _blank_to_none(form.get("lawful_basis")),
        "family_informed": form.get("family_informed") or "no",
        "family_informed_reason": _blank_to_none(form.get("family_informed_reason")),
    }
    return {
        "brag": form.get("brag", ""),
        "subjects": [{k: v for k, v in child.items() if v is not None}],
        "consent": {k: v for k, v in consent.items() if v is not None},
    }


def validation_messages(error: ValidationError) -> list[str]:
    messages = []
    for e in error.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if not isinstance(p, int))
        messages.append(f"{where}: {e.get('msg', '')}")
    return messages


@router.post("/ui/enquiries", include_in_schema=False)
async def open_enquiry_form(request: Request, principal: UiPrincipal) -> Response:
    form = await read_form(request)
    broker = broker_of(request)
    try:
        body = EnquiryCreate.model_validate(enquiry_body(form, principal, broker.clock.now()))
        command = _command(body, broker, None, principal)
    except ValidationError as error:
        return render(request, "enquiry_new.html", _form_context(principal, form, validation_messages(error)),
                      principal, status=422)
    except ValueError as error:  # DomainError: identifiers, consent shape
        return render(request, "enquiry_new.html", _form_context(principal, form, [str(error)]), principal, status=422)
    too_soon = request.app.state.open_rate.take(principal.subject)
    if too_soon:
        return problem_page(request, 429, "Too many enquiries",
                            f"Try again in {int(too_soon)} seconds.", principal)
    if broker.accepting():
        return problem_page(request, 503, "Busy",
                            "The message broker is refusing new messages; try again shortly.", principal)
    opened = await broker.open_enquiry(command)
    return RedirectResponse(f"/ui/enquiries/{opened.enquiry_id}", status_code=303)


def _enquiry_context(enquiry: Enquiry, summaries: list[Any]) -> dict[str, Any]:
    child = next((s for s in enquiry.subjects if s.role == "child"), enquiry.subjects[0])
    return {
        "enquiry": enquiry,
        "child": child,
        "rows": partner_rows(enquiry),
        "closed": enquiry.state in CLOSED,
        "summaries": summaries,
        "suggested": enquiry.suggested_brag(),
    }


ContactRef = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9-]{1,64}$",
                                        description="the contact the enquiry came from (a link back)")]


@router.get("/ui/enquiries/{enquiry_id}", response_class=HTMLResponse, include_in_schema=False)
async def enquiry_page(enquiry_id: str, request: Request, principal: UiPrincipal,
                       contact: ContactRef = None) -> Response:
    broker = broker_of(request)
    enquiry = await read_enquiry(broker.views, principal, enquiry_id)
    summaries = await broker.views.summaries(enquiry_id)
    return render(request, "enquiry.html", {**_enquiry_context(enquiry, summaries), "contact_id": contact},
                  principal)


def sse_event(event: str, html: str) -> bytes:
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


@router.get("/ui/enquiries/{enquiry_id}/events", include_in_schema=False)
async def enquiry_events(enquiry_id: str, request: Request, principal: UiPrincipal,
                         contact: ContactRef = None) -> Response:
    """Server-sent events: a `partner-<id>` event with the row's HTML whenever a partner's
    outcome changes (all rows once on connect), `state` when the enquiry's state changes, and
    `closed` (the summary link) when it has closed, after which the browser stops listening."""
    broker = broker_of(request)
    await read_enquiry(broker.views, principal, enquiry_id)  # 404 before any stream starts
    row_template = TEMPLATES.get_template("_partner_row.html")
    state_template = TEMPLATES.get_template("_enquiry_state.html")
    closed_template = TEMPLATES.get_template("_closed.html")

    async def stream() -> AsyncIterator[bytes]:
        sent: dict[str, Any] = {}
        started = asyncio.get_running_loop().time()
        yield b"retry: 2000\n\n"
        while asyncio.get_running_loop().time() - started < STREAM_S:
            if await request.is_disconnected():
                return
            enquiry = await read_enquiry(broker.views, principal, enquiry_id)
            for row in partner_rows(enquiry):
                if sent.get(row.partner_id) != row:
                    sent[row.partner_id] = row
                    yield sse_event(f"partner-{row.partner_id}", row_template.render(row=row))
            state = (enquiry.state, enquiry.suggested_brag())
            if sent.get("__state") != state:
                sent["__state"] = state
                yield sse_event("state", state_template.render(enquiry=enquiry))
            if enquiry.state in CLOSED:
                summaries = await broker.views.summaries(enquiry_id)
                if summaries or enquiry.state is EnquiryState.REFUSED:
                    yield sse_event("closed", closed_template.render(enquiry=enquiry, summaries=summaries,
                                                                         contact_id=contact))
                    return
            await asyncio.sleep(POLL_S)
        yield b": stream lifetime reached\n\n"

    return StreamingResponse(
        stream(), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def partner_reply_checks(payload: dict[str, Any], agreements_dir: Any) -> dict[str, str]:
    """Each partner's own signed reply inside the summary, verified against the key the
    agreement it answered under names (as `mash-broker verify --agreements` does)."""
    keys = {(a.agreement_id, a.version, p.partner_id): p.public_jwk
            for a in load_directory(agreements_dir) for p in a.parties}
    checks: dict[str, str] = {}
    for partner in payload.get("partners", []):
        token, agreement = partner.get("signed_reply"), partner.get("agreement") or {}
        if not token:
            continue
        jwk = keys.get((agreement.get("id"), agreement.get("version"), partner["partner_id"]))
        try:
            if jwk is None:
                raise SignatureInvalid("no key for it in the agreements")
            reply = verify(token, import_public_jwk(jwk), typ=REPLY_JWS_TYP)
            same = reply.get("request_id") == partner.get("request_id") and reply.get("outcome") == partner["outcome"]
            checks[partner["partner_id"]] = "verified" if same else "does not match the summary"
        except SignatureInvalid as error:
            checks[partner["partner_id"]] = f"invalid: {error}"
    return checks


async def _chosen_summary(request: Request, principal: Principal, enquiry_id: str,
                          version: int | None) -> Any:
    broker = broker_of(request)
    history = await read_summaries(broker.views, principal, enquiry_id, record=broker.record_audit,
                                   now=broker.clock.now())
    if not history:
        return None
    if version is None:
        return history[-1]
    return next((s for s in history if s.version == version), None)


@router.get("/ui/enquiries/{enquiry_id}/summary", response_class=HTMLResponse, include_in_schema=False)
async def summary_page(
    enquiry_id: str, request: Request, principal: UiPrincipal,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    broker = broker_of(request)
    chosen = await _chosen_summary(request, principal, enquiry_id, version)
    if chosen is None:
        return problem_page(request, 404, "No summary yet",
                            "The enquiry has not closed, or there is no such version.", principal)
    if chosen.purged_at is not None:
        return problem_page(request, 410, "Purged",
                            f"Purged on {chosen.purged_at.date().isoformat()} at the end of the agreement's "
                            f"retention period; SHA-256 of the signed summary: {chosen.jws_sha256}", principal)
    try:
        payload = verify(chosen.jws, key_set(broker.signer.jwks()["keys"]), typ=SUMMARY_JWS_TYP)
        verified = True
    except SignatureInvalid:
        payload, verified = {}, False
    return render(request, "summary.html", {
        "enquiry_id": enquiry_id, "summary": chosen, "payload": payload, "verified": verified,
        "kid": broker.signer.kid,
        "reply_checks": partner_reply_checks(payload, broker.settings.agreements_path) if verified else {},
    }, principal)


@router.get("/ui/enquiries/{enquiry_id}/summary.jws", include_in_schema=False)
async def summary_download(
    enquiry_id: str, request: Request, principal: UiPrincipal,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    chosen = await _chosen_summary(request, principal, enquiry_id, version)
    if chosen is None or chosen.purged_at is not None:
        return problem_page(request, 404, "No summary", "There is no signed summary to download.", principal)
    return Response(
        chosen.jws, media_type="application/jose",
        headers={"Content-Disposition":
                 f'attachment; filename="summary-{enquiry_id}-v{chosen.version}.jws"'},
    )
