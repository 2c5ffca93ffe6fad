"""Verify a view, build the signed receipt: no I/O here beyond what is passed in."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from adapters.sdk.signing import SignatureInvalid, SigningKey, canonical_json, key_set, verify
from receiver.wire import RECEIPT_JWS_TYP, RECEIPT_TYPE, VIEW_JWS_TYP, VIEW_TYPE, WIRE_VERSION


class ViewRefused(Exception):
    """A message that is not a view for us, or does not verify; the message says why."""


def load_jwks(source: str) -> dict[str, Any]:
    """The broker's JWKS from a file or an http(s) URL."""
    if source.startswith(("https://", "http://")):
        response = httpx.get(source, timeout=10.0)
        response.raise_for_status()
        data = response.json()
    else:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError(f"{source} is not a JWKS")
    return data


def view_token(body: bytes) -> str:
    """The compact JWS from a message body: the JSON envelope {v, type, jws}."""
    try:
        envelope = json.loads(body)
    except ValueError as error:
        raise ViewRefused("the body is not JSON") from error
    if not isinstance(envelope, dict) or envelope.get("v") != WIRE_VERSION or envelope.get("type") != VIEW_TYPE:
        raise ViewRefused(f"not a {VIEW_TYPE} envelope (v {WIRE_VERSION})")
    jws = envelope.get("jws")
    if not isinstance(jws, str):
        raise ViewRefused("the envelope has no jws")
    return jws


@dataclass(frozen=True, slots=True)
class VerifiedView:
    jws: str
    payload: dict[str, Any]
    sha256: str

    @property
    def view_id(self) -> str:
        return str(self.payload["view_id"])


def verify_view(jws: str, jwks: dict[str, Any], *, service_id: str) -> VerifiedView:
    """Signed by the broker (a key in its JWKS, Ed25519 only, typ pinned), and addressed to us."""
    try:
        payload = verify(jws, key_set(jwks["keys"]), typ=VIEW_JWS_TYP)
    except (SignatureInvalid, ValueError) as error:
        raise ViewRefused(f"the view does not verify against the broker's keys: {error}") from error
    if payload.get("type") != VIEW_TYPE:
        raise ViewRefused(f"payload type is not {VIEW_TYPE}")
    if payload.get("service_id") != service_id:
        raise ViewRefused("the view is addressed to another service")
    if not isinstance(payload.get("view_id"), str):
        raise ViewRefused("the view has no view_id")
    return VerifiedView(jws, payload, hashlib.sha256(jws.encode("ascii")).hexdigest())


def receipt(view: VerifiedView, *, key: SigningKey, service_id: str, received_at: dt.datetime) -> str:
    """Our signed receipt: which view, its SHA-256 as we hold it, when we took it in."""
    payload = {
        "type": RECEIPT_TYPE,
        "view_id": view.view_id,
        "service_id": service_id,
        "view_sha256": view.sha256,
        "received_at": received_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    return key.sign(payload, typ=RECEIPT_JWS_TYP)


def receipt_envelope(token: str) -> bytes:
    return canonical_json({"v": WIRE_VERSION, "type": RECEIPT_TYPE, "jws": token})
