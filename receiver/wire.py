"""The wire contract with the broker (kept here so a service can vendor this package alone)."""

from __future__ import annotations

VIEW_TYPE = "mash.service-view"
VIEW_JWS_TYP = "mash-service-view+jws"
RECEIPT_TYPE = "mash.service-receipt"
RECEIPT_JWS_TYP = "mash-service-receipt+jws"
WIRE_VERSION = 1
RECEIPTS_EXCHANGE = "{prefix}.receipts"
RECEIPTS_ROUTING_KEY = "broker"
VIEWS_QUEUE = "{prefix}.service.{service_id}.views"
