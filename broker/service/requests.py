"""Turning a dispatched enquiry into signed partner request messages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from adapters.sdk.messages import REQUEST_JWS_TYP, REQUEST_TYPE, WIRE_VERSION
from adapters.sdk.transport.base import OutgoingMessage
from broker.domain.enquiry import Enquiry, PartnerRequest
from broker.domain.subject import Subject
from broker.service.ports import Signer


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _subject(subject: Subject) -> dict[str, object]:
    data: dict[str, object] = {
        "subject_ref": subject.subject_ref,
        "role": subject.role,
        "given_name": subject.given_name,
        "family_name": subject.family_name,
        "sex": subject.sex,
    }
    optional = {
        "relationship": subject.relationship,
        "date_of_birth": subject.date_of_birth.isoformat() if subject.date_of_birth else None,
        "address": subject.address,
        "postcode": subject.postcode,
        "nhs_number": subject.nhs_number,
        "upn": subject.upn,
        "local_case_id": subject.local_case_id,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    return data


def request_payload(enquiry: Enquiry, request: PartnerRequest, issued_at: dt.datetime) -> dict[str, object]:
    return {
        "request_id": request.request_id,
        "enquiry_id": enquiry.enquiry_id,
        "partner_id": request.partner_id,
        "agreement_id": request.agreement_id,
        "agreement_version": request.agreement_version,
        "purpose": enquiry.purpose,
        "categories": list(request.categories),
        "subjects": [_subject(s) for s in enquiry.subjects],
        "brag": enquiry.brag.value,
        "issued_at": _iso(issued_at),
        "deadline": _iso(enquiry.deadline_at),
    }


def request_messages(
    enquiry: Enquiry, *, signer: Signer, issued_at: dt.datetime, new_id: Callable[[], str]
) -> list[OutgoingMessage]:
    """One signed request per partner asked; expiring at the enquiry's deadline."""
    expiration = max((enquiry.deadline_at - issued_at).total_seconds(), 1.0)
    messages = []
    for request in enquiry.pending:
        jws = signer.sign(request_payload(enquiry, request, issued_at), typ=REQUEST_JWS_TYP)
        body = json.dumps({"v": WIRE_VERSION, "type": REQUEST_TYPE, "jws": jws}).encode()
        messages.append(
            OutgoingMessage(
                exchange="requests",
                routing_key=request.partner_id,
                body=body,
                message_id=new_id(),
                correlation_id=request.request_id,
                message_type=REQUEST_TYPE,
                headers={"enquiry_id": enquiry.enquiry_id, "partner_id": request.partner_id},
                expiration_s=expiration,
            )
        )
    return messages
