"""The front door in the browser: the contacts list, recording a contact, screening (an
officer proposes a BRAG with the Signs of Safety rationale, a manager sanctions or re-rates
with a reason), closing a blue contact, opening the enquiry from the contact with the consent
record, and the manager's signed decision.

Every step calls the front-door use cases (`broker.front_door`), which authorize first: the
controls a role may not use are not shown, and a forged post still gets 403 from the service.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from broker.domain.access import MASH_MANAGER, SCREENING_OFFICER, Denied, Principal
from broker.domain.brag import Brag
from broker.domain.consent import ConsentDecision, ConsentStatus
from broker.domain.contact import ContactState, Referrer
from broker.domain.decision import Outcome
from broker.domain.errors import DomainError
from broker.domain.screening import SCALE_MEANING, SignsOfSafety
from broker.domain.subject import Subject
from broker.entrypoints.api.schemas import ConsentIn, SubjectIn
from broker.entrypoints.web.core import UiPrincipal, UiRoute, broker_of, read_form, render
from broker.service.front_door import FEEDBACK_METHODS
from broker.entrypoints.web.enquiries import CONSENT_STATUSES, _blank_to_none, validation_messages

router = APIRouter(route_class=UiRoute)

BRAGS = ("red", "amber", "green", "blue")
OUTCOMES = tuple((o.value, o.label) for o in Outcome if o is not Outcome.UNIVERSAL_SERVICES_ADVICE)
STATE_LABELS = {
    "received": "received, to screen",
    "routed_to_allocated_worker": "routed to the allocated social worker",
    "awaiting_sanction": "awaiting a manager's sanction",
    "screened": "screened",
    "closed_universal": "closed with universal-services advice",
    "enquiry_opened": "enquiry opened",
    "decided": "decided",
}


def _front_door(request: Request) -> Any:
    return broker_of(request).front_door


@router.get("/ui/contacts", response_class=HTMLResponse, include_in_schema=False)
async def contacts_page(
    request: Request, principal: UiPrincipal,
    state: Annotated[str | None, Query(pattern="^[a-z_]{1,40}$")] = None,
    overdue: Annotated[bool, Query()] = False,
) -> Response:
    rows = await _front_door(request).list_contacts(actor=principal, state=state, overdue=overdue, limit=100)
    now = broker_of(request).clock.now()
    return render(request, "contacts.html", {
        "rows": rows, "now": now, "state": state, "overdue": overdue, "state_labels": STATE_LABELS,
        "may_record": principal.has(SCREENING_OFFICER) or principal.has(MASH_MANAGER),
    }, principal)


@router.get("/ui/contacts/new", response_class=HTMLResponse, include_in_schema=False)
async def new_contact_page(request: Request, principal: UiPrincipal) -> Response:
    return render(request, "contact_new.html", {"form": {}, "errors": []}, principal)


def _child(form: dict[str, str]) -> Subject:
    child = SubjectIn.model_validate({k: v for k, v in {
        "subject_ref": "S1", "role": "child",
        "given_name": form.get("given_name", ""), "family_name": form.get("family_name", ""),
        "date_of_birth": _blank_to_none(form.get("date_of_birth")), "sex": form.get("sex") or "unknown",
        "address": _blank_to_none(form.get("address")), "postcode": _blank_to_none(form.get("postcode")),
        "nhs_number": _blank_to_none(form.get("nhs_number")), "upn": _blank_to_none(form.get("upn")),
    }.items() if v is not None})
    return Subject.create(**child.model_dump())


@router.post("/ui/contacts", include_in_schema=False)
async def record_contact(request: Request, principal: UiPrincipal) -> Response:
    from broker.service.front_door import RecordContact

    form = await read_form(request)
    try:
        command = RecordContact(
            referrer=Referrer(
                name=form.get("referrer_name", ""), role=form.get("referrer_role", ""),
                organisation=form.get("referrer_organisation", ""),
                phone=_blank_to_none(form.get("referrer_phone")), email=_blank_to_none(form.get("referrer_email")),
            ),
            reason=form.get("reason", ""),
            subjects=(_child(form),),
            actor=principal,
        )
        recorded = await _front_door(request).record_contact(command)
    except ValidationError as error:
        return render(request, "contact_new.html", {"form": form, "errors": validation_messages(error)},
                      principal, status=422)
    except Denied:
        raise
    except DomainError as error:
        return render(request, "contact_new.html", {"form": form, "errors": [str(error)]}, principal, status=422)
    return RedirectResponse(f"/ui/contacts/{recorded.contact_id}", status_code=303)


async def _contact_page(request: Request, principal: Principal, contact_id: str, *,
                        errors: list[str] | None = None, form: dict[str, str] | None = None,
                        status: int = 200) -> Response:
    broker = broker_of(request)
    front_door = _front_door(request)
    view = await front_door.read_contact(contact_id, actor=principal)
    contact = view.contact
    decision = feedback = None
    if contact.decision_id is not None:
        decision = await front_door.read_decision(contact_id, actor=principal, jwks=broker.signer.jwks())
        if principal.has(SCREENING_OFFICER) or principal.has(MASH_MANAGER):
            feedback = await front_door.read_feedback(contact_id, actor=principal)
    summary_ready = False
    if contact.enquiry_id is not None:
        summary_ready = bool(await broker.views.summaries(contact.enquiry_id))
    manager = principal.has(MASH_MANAGER)
    staff = manager or principal.has(SCREENING_OFFICER)
    state = contact.state
    return render(request, "contact.html", {
        "view": view, "contact": contact, "child": contact.child, "state_labels": STATE_LABELS,
        "errors": errors or [], "form": form or {}, "brags": BRAGS, "outcomes": OUTCOMES,
        "scale_meaning": SCALE_MEANING, "consent_statuses": CONSENT_STATUSES,
        "feedback_methods": FEEDBACK_METHODS,
        "decision": decision, "feedback": feedback, "summary_ready": summary_ready,
        "now": broker.clock.now(),
        "can_propose": staff and state is ContactState.RECEIVED,
        "can_screen_directly": manager and state is ContactState.RECEIVED,
        "can_sanction": manager and state is ContactState.AWAITING_SANCTION
        and (contact.proposal is None or contact.proposal.proposed_by != principal.subject),
        "can_rerate": manager and state in (ContactState.SCREENED, ContactState.ENQUIRY_OPENED),
        "can_close_blue": manager and state is ContactState.SCREENED and contact.brag is Brag.BLUE,
        "can_open_enquiry": manager and state is ContactState.SCREENED and contact.brag is not Brag.BLUE,
        "can_decide": manager and (
            (state is ContactState.SCREENED and contact.brag is not Brag.BLUE)
            or (state is ContactState.ENQUIRY_OPENED and summary_ready)
        ),
    }, principal, status=status)


@router.get("/ui/contacts/{contact_id}", response_class=HTMLResponse, include_in_schema=False)
async def contact_page(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    return await _contact_page(request, principal, contact_id)


def _sos(form: dict[str, str]) -> SignsOfSafety:
    scale = form.get("scale", "").strip()
    if not scale.isdigit():
        raise DomainError(f"choose a point on the 0-10 scale ({SCALE_MEANING})")
    return SignsOfSafety(worries=form.get("worries", ""), working_well=form.get("working_well", ""),
                         needs_to_happen=form.get("needs_to_happen", ""), scale=int(scale))


def _brag(value: str | None, what: str = "rating") -> Brag:
    try:
        return Brag(value or "")
    except ValueError:
        raise DomainError(f"choose a {what}: red, amber, green or blue") from None


async def _step(request: Request, principal: Principal, contact_id: str, form: dict[str, str],
                action: Any) -> Response:
    """Run one screening/decision step; invalid input or a step the state does not allow shows
    the contact again with the reason (422 / 409); a forbidden step is a 403 page (UiRoute)."""
    try:
        target = await action()
    except Denied:
        raise
    except DomainError as error:
        status = 409 if type(error).__name__ == "ContactConflict" else 422
        return await _contact_page(request, principal, contact_id, errors=[str(error)], form=form, status=status)
    return RedirectResponse(target or f"/ui/contacts/{contact_id}", status_code=303)


@router.post("/ui/contacts/{contact_id}/screen", include_in_schema=False)
async def screen(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    """The officer's proposal, or (step=sanction) a manager screening the contact directly."""
    form = await read_form(request)

    async def action() -> None:
        brag, rationale = _brag(form.get("brag")), _sos(form)
        if form.get("step") == "sanction":
            await _front_door(request).sanction(contact_id, actor=principal, brag=brag, rationale=rationale)
        else:
            await _front_door(request).propose_brag(contact_id, brag, rationale, actor=principal)

    return await _step(request, principal, contact_id, form, action)


@router.post("/ui/contacts/{contact_id}/sanction", include_in_schema=False)
async def sanction(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    form = await read_form(request)

    async def action() -> None:
        await _front_door(request).sanction(contact_id, actor=principal, brag=_brag(form.get("brag")),
                                            reason=_blank_to_none(form.get("reason")))

    return await _step(request, principal, contact_id, form, action)


@router.post("/ui/contacts/{contact_id}/rerate", include_in_schema=False)
async def rerate(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    form = await read_form(request)

    async def action() -> None:
        await _front_door(request).rerate(
            contact_id, to=_brag(form.get("to"), "new rating"), reason=form.get("reason", ""), actor=principal,
            expected_from=Brag(form["from"]) if form.get("from") in BRAGS else None,
        )

    return await _step(request, principal, contact_id, form, action)


@router.post("/ui/contacts/{contact_id}/close", include_in_schema=False)
async def close_blue(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    form = await read_form(request)

    async def action() -> None:
        await _front_door(request).close_blue(contact_id, advice=form.get("advice", ""), actor=principal)

    return await _step(request, principal, contact_id, form, action)


def _consent(form: dict[str, str], principal: Principal, now: dt.datetime) -> ConsentDecision:
    body = ConsentIn.model_validate({k: v for k, v in {
        "status": form.get("consent_status", ""), "decided_by": principal.subject, "decided_at": now.isoformat(),
        "given_by": _blank_to_none(form.get("given_by")), "approved_by": _blank_to_none(form.get("approved_by")),
        "reason": _blank_to_none(form.get("consent_reason")),
        "lawful_basis": _blank_to_none(form.get("lawful_basis")),
        "family_informed": form.get("family_informed") or "no",
        "family_informed_reason": _blank_to_none(form.get("family_informed_reason")),
    }.items() if v is not None})
    data = body.model_dump()
    return ConsentDecision(**{**data, "status": ConsentStatus(data["status"])})


@router.post("/ui/contacts/{contact_id}/enquiry", include_in_schema=False)
async def open_enquiry(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    """Consent is checked again now and recorded on the contact, passed or not."""
    form = await read_form(request)

    async def action() -> str | None:
        try:
            consent = _consent(form, principal, broker_of(request).clock.now())
        except ValidationError as error:
            raise DomainError("; ".join(validation_messages(error))) from None
        opened = await _front_door(request).open_enquiry(contact_id, actor=principal, consent=consent)
        if opened.enquiry_state.value == "refused":
            return None  # back to the contact: the refused consent check is shown there
        return f"/ui/enquiries/{opened.enquiry_id}?contact={contact_id}"

    return await _step(request, principal, contact_id, form, action)


@router.post("/ui/contacts/{contact_id}/decision", include_in_schema=False)
async def record_decision(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    form = await read_form(request)

    async def action() -> None:
        try:
            outcome = Outcome(form.get("outcome", ""))
        except ValueError:
            raise DomainError("choose the outcome of the decision") from None
        await _front_door(request).record_decision(contact_id, outcome=outcome,
                                                   rationale=form.get("rationale", ""), actor=principal)

    return await _step(request, principal, contact_id, form, action)


@router.post("/ui/contacts/{contact_id}/feedback", include_in_schema=False)
async def feedback_given(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    """The referrer has been told the outcome (and how)."""
    form = await read_form(request)

    async def action() -> None:
        await _front_door(request).feedback_given(contact_id, method=form.get("method", ""), actor=principal)

    return await _step(request, principal, contact_id, form, action)


@router.get("/ui/contacts/{contact_id}/decision.jws", include_in_schema=False)
async def decision_download(contact_id: str, request: Request, principal: UiPrincipal) -> Response:
    decision = await _front_door(request).read_decision(contact_id, actor=principal,
                                                        jwks=broker_of(request).signer.jwks())
    return Response(decision.jws, media_type="application/jose", headers={
        "Content-Disposition": f'attachment; filename="decision-{contact_id}.jws"'})
