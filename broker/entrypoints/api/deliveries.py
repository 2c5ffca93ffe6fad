"""HTTP routes for downstream delivery: the manager's delivery list, a service's own views,
and signed receipts posted by a service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from broker.bootstrap import Broker
from broker.domain.access import Forbidden, NotVisible
from broker.entrypoints.api.deps import BrokerDep, PrincipalDep
from broker.entrypoints.api.routes import ERRORS

router = APIRouter(tags=["deliveries"])

MAX_RECEIPT_BYTES = 16 * 1024


class WebhookRead(BaseModel):
    state: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    delivered_at: dt.datetime | None


class DeliveryRead(BaseModel):
    view_id: str
    service_id: str
    enquiry_id: str | None
    contact_id: str | None
    summary_id: str | None
    decision_id: str
    decision_outcome: str
    issued_at: dt.datetime
    status: str = Field(description="pending | delivered | acknowledged | undelivered")
    sends: int
    last_sent_at: dt.datetime | None
    ack_due_at: dt.datetime | None
    overdue: bool = Field(description="no receipt by its deadline (being re-sent, or given up)")
    acknowledged_at: dt.datetime | None
    ack_channel: str | None
    undelivered_at: dt.datetime | None
    undelivered_reason: str | None = None
    view_sha256: str
    purged_at: dt.datetime | None = Field(
        None, description="signed body dropped when the retention of the findings it carries ended")
    webhook: WebhookRead | None


class DeliveryList(BaseModel):
    items: list[DeliveryRead]


class ServiceViewRead(DeliveryRead):
    jws: str | None = Field(description="the signed view (compact JWS, typ mash-service-view+jws); null once purged")


class ServiceViewList(BaseModel):
    items: list[ServiceViewRead]


class ReceiptAccepted(BaseModel):
    view_id: str
    outcome: str = Field(description="acknowledged | duplicate")


def _desk(broker: Broker) -> Any:
    if broker.deliveries is None:
        raise HTTPException(404, "downstream delivery is not configured")
    return broker.deliveries


@router.get("/deliveries", response_model=DeliveryList, responses=ERRORS,
            summary="Views issued to receiving services")
async def list_deliveries(
    broker: BrokerDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|acknowledged|undelivered)$")] = None,
    service_id: Annotated[str | None, Query(pattern="^[a-z0-9][a-z0-9_-]{1,31}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryList:
    """Every view (managers): its status, sends, receipt, and webhook attempts."""
    rows = await _desk(broker).list_deliveries(principal, status=status, service_id=service_id, limit=limit)
    return DeliveryList(items=[DeliveryRead(**r) for r in rows])


@router.get("/services/{service_id}/views", response_model=ServiceViewList, responses=ERRORS,
            summary="A receiving service's own views")
async def list_service_views(
    service_id: str, broker: BrokerDep, principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ServiceViewList:
    """The caller's own views (role `service:<id>`), signed, newest first; any other service: 404."""
    rows = await _desk(broker).service_views(principal, service_id, limit=limit)
    return ServiceViewList(items=[ServiceViewRead(**r) for r in rows])


@router.post(
    "/deliveries/{view_id}/receipt",
    response_model=ReceiptAccepted,
    responses=ERRORS,
    summary="A service's signed receipt for one of its views",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/jose": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object", "properties": {
            "v": {"type": "integer"}, "type": {"type": "string"}, "jws": {"type": "string"}}}},
    }}},
)
async def post_receipt(view_id: str, request: Request, broker: BrokerDep, principal: PrincipalDep) -> Any:
    """The body is the receipt: a compact JWS signed with the service's key (or the JSON
    envelope `{"v": 1, "type": "mash.service-receipt", "jws": ...}`). Only a service
    (role `service:<id>`) posts receipts, and only for its own views (others: 404); a receipt
    that does not verify is refused with the reason (422) and recorded."""
    if not principal.services:
        raise Forbidden("posting a receipt needs a service:<id> role", actor=principal.subject,
                        action="post_receipt")
    body = await request.body()
    if len(body) > MAX_RECEIPT_BYTES:
        raise HTTPException(413, "a receipt is at most 16 KiB")
    result = await _desk(broker).record_receipt(body, channel="http", senders=principal.services,
                                                view_id=view_id)
    if result.outcome == "rejected":
        if result.not_found:
            raise NotVisible("no such view", actor=principal.subject, action="post_receipt")
        return JSONResponse({"detail": f"receipt refused: {result.reason}"}, status_code=422)
    return ReceiptAccepted(view_id=view_id, outcome=result.outcome)
