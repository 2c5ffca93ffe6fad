"""Verifying a summary as a downstream service would: from the JWKS alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk.bootstrap import load_broker_keys
from adapters.sdk.messages import REPLY_JWS_TYP
from adapters.sdk.signing import SignatureInvalid, import_public_jwk, verify
from agreements.loader import load_directory
from broker.service.summaries import SUMMARY_JWS_TYP


def verify_summary(token: str, jwks_source: str, agreements_dir: Path | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {"verified": False}
    try:
        payload = verify(token, load_broker_keys(jwks_source), typ=SUMMARY_JWS_TYP)
    except SignatureInvalid as error:
        report["error"] = str(error)
        return report
    report.update(
        verified=True,
        enquiry_id=payload["enquiry_id"],
        summary_version=payload["version"],
        completion=payload["completion"],
        suggested_brag=payload["suggested_brag"],
        partners={p["partner_id"]: p["outcome"] for p in payload["partners"]},
    )
    if agreements_dir is not None:
        keys = {
            (a.agreement_id, a.version, p.partner_id): p.public_jwk
            for a in load_directory(agreements_dir)
            for p in a.parties
        }
        replies: dict[str, str] = {}
        for partner in payload["partners"]:
            token_ = partner.get("signed_reply")
            if not token_:
                continue
            agreement = partner["agreement"]
            jwk = keys.get((agreement["id"], agreement["version"], partner["partner_id"]))
            try:
                if jwk is None:
                    raise SignatureInvalid("no key in the agreements")
                reply = verify(token_, import_public_jwk(jwk), typ=REPLY_JWS_TYP)
                same = reply["request_id"] == partner["request_id"] and reply["outcome"] == partner["outcome"]
                replies[partner["partner_id"]] = "verified" if same else "does not match the summary"
            except SignatureInvalid as error:
                replies[partner["partner_id"]] = f"invalid: {error}"
        report["partner_replies"] = replies
        report["verified"] = all(v == "verified" for v in replies.values())
    return report


def verify_summary_file(path: Path, jwks_source: str, agreements_dir: Path | None) -> dict[str, Any]:
    return verify_summary(path.read_text(encoding="ascii").strip(), jwks_source, agreements_dir)
