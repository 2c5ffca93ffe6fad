"""Signed checkpoints of the audit log, and verifying the log against them.

A checkpoint is a compact JWS (Ed25519, RFC 8785 payload, typ `mash-audit-checkpoint+jws`)
over {"log": "mash-audit", "size", "root", "at"}. Checkpoints kept only in the database prove
little against someone who can rewrite the database: hand them out (in signed summaries, to
partners) and verify with the copies held outside.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from adapters.sdk.signing import SignatureInvalid, key_set, verify
from broker.domain.audit import (
    AuditEntry,
    AuditRecord,
    AuditReport,
    Checkpoint,
    Problem,
    verify_log,
)
from broker.domain.merkle import consistency_proof, inclusion_proof
from broker.service.ports import AuditStore, Signer

CHECKPOINT_TYP = "mash-audit-checkpoint+jws"


def sign_checkpoint(root: str | bytes, size: int, at: dt.datetime, signer: Signer) -> str:
    """A compact JWS saying the log had `size` events with this root at `at` (UTC)."""
    root_hex = root.hex() if isinstance(root, bytes | bytearray) else root
    checkpoint = Checkpoint(size=size, root=root_hex, at=at.astimezone(dt.UTC))
    Checkpoint.from_payload(checkpoint.payload())  # refuse to sign a malformed head
    return signer.sign(checkpoint.payload(), typ=CHECKPOINT_TYP)


def _keys(jwks: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> Any:
    if isinstance(jwks, Mapping):
        jwks = jwks.get("keys", [])
    return key_set([dict(k) for k in jwks])


def read_checkpoint(token: str, jwks: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> Checkpoint:
    """The checkpoint in a signed token; SignatureInvalid when it does not verify with `jwks`
    (a JWKS document or a list of public JWKs) or is not a checkpoint."""
    payload = verify(token, _keys(jwks), typ=CHECKPOINT_TYP)
    try:
        return Checkpoint.from_payload(payload)
    except ValueError as error:
        raise SignatureInvalid(f"the signed payload is not a checkpoint: {error}") from error


def verify_audit(
    events: Sequence[AuditRecord],
    checkpoints: Iterable[str],
    jwks: Mapping[str, Any] | Iterable[Mapping[str, Any]],
) -> AuditReport:
    """Verify the stored rows, then each signed checkpoint (compact JWS) against them.

    A checkpoint that does not verify with `jwks` makes the result not ok (BAD_CHECKPOINT)
    unless the rows or a good checkpoint already show a problem, which is reported first.
    """
    good: list[Checkpoint] = []
    refused: list[str] = []
    for number, token in enumerate(checkpoints):
        try:
            good.append(read_checkpoint(token, jwks))
        except SignatureInvalid as error:
            refused.append(f"checkpoint #{number}: {error}")
    report = verify_log(events, checkpoints=good)
    if report.ok and refused:
        return replace(report, ok=False, problem=Problem.BAD_CHECKPOINT, detail="; ".join(refused))
    return report


async def write_checkpoint(store: AuditStore, signer: Signer, at: dt.datetime) -> Checkpoint | None:
    """Sign and store a checkpoint of the log as it is now; None when nothing was appended since
    the latest one. Run it every N events or T seconds, inside one transaction."""
    size, root = await store.head()
    latest = await store.latest_checkpoint()
    if size == 0 or (latest is not None and latest[0].size >= size):
        return None
    checkpoint = Checkpoint(size=size, root=root, at=at.astimezone(dt.UTC))
    await store.add_checkpoint(checkpoint, sign_checkpoint(root, size, checkpoint.at, signer))
    return checkpoint


def prove_inclusion(records: Sequence[AuditRecord], index: int, size: int) -> list[str]:
    """The RFC 6962 inclusion proof (hex) that event `index` is in the log of `size` events."""
    return [h.hex() for h in inclusion_proof(index, [bytes.fromhex(r.leaf_hash) for r in records[:size]])]


def prove_consistency(records: Sequence[AuditRecord], old_size: int, size: int) -> list[str]:
    """The RFC 6962 consistency proof (hex) that the log of `old_size` events is a prefix of the
    log of `size` events: what a partner holding an old checkpoint checks a new one with."""
    return [h.hex() for h in consistency_proof(old_size, [bytes.fromhex(r.leaf_hash) for r in records[:size]])]
