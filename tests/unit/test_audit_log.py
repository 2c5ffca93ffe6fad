"""The audit log verifier, pure: each of the six tamper cases is reported at its exact index, a
clean log verifies, and checkpoints are signed and verified with adapters.sdk.signing."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import replace

import pytest

from adapters.sdk.signing import SigningKey, key_set, verify
from broker.domain.audit import (
    AuditEntry,
    AuditRecord,
    Checkpoint,
    InvalidAuditEvent,
    Problem,
    build_log,
    verify_log,
)
from broker.domain.merkle import (
    EMPTY_ROOT,
    CompactRange,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from broker.service.audit import (
    CHECKPOINT_TYP,
    prove_consistency,
    prove_inclusion,
    read_checkpoint,
    sign_checkpoint,
    verify_audit,
)

pytestmark = pytest.mark.security

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
N = 50
ACTIONS = [
    ("enquiry.opened", "dispatched", "s47 Children Act 1989: child at risk of significant harm"),
    ("request.sent", "sent", None),
    ("reply.recorded", "findings", None),
    ("consent.gate", "refused", "consent refused; no lawful basis recorded"),
    ("summary.issued", "complete", None),
]


def entry(i: int) -> AuditEntry:
    action, outcome, reason = ACTIONS[i % len(ACTIONS)]
    return AuditEntry(
        at=T0 + dt.timedelta(seconds=i, microseconds=i),
        actor=f"manager:{'alice' if i % 2 else 'bob'}",
        action=action,
        outcome=outcome,
        enquiry_id=f"00000000-0000-4000-8000-{i // 3:012d}",
        reason=reason,
        details={"partner_id": ["police", "health", "education"][i % 3], "request_id": f"req-{i}"},
    )


def clean_log(n: int = N) -> list[AuditRecord]:
    return build_log(entry(i) for i in range(n))


def head_of(records: list[AuditRecord], at: dt.datetime = T0) -> Checkpoint:
    return Checkpoint(size=len(records), root=records[-1].root_after, at=at)


def renumbered(record: AuditRecord, index: int) -> AuditRecord:
    """The same row with another index column, stored hashes untouched (an UPDATE of the key)."""
    return replace(record, event=replace(record.event, index=index))


def forged_at(records: list[AuditRecord], k: int) -> AuditRecord:
    """A forged event at index k whose leaf hash and running root are correct for rows 0..k-1."""
    compact = CompactRange()
    for r in records[:k]:
        compact.append(bytes.fromhex(r.leaf_hash))
    fake = AuditEntry(at=T0, actor="manager:mallory", action="consent.gate", outcome="passed",
                      enquiry_id="00000000-0000-4000-8000-999999999999", reason="forged")
    return build_log([fake.at_index(k)], compact)[0]


POSITIONS = [0, 1, 17, 31, N - 2]


def test_a_clean_log_verifies_with_and_without_checkpoints() -> None:
    """An untouched log verifies, its root is the RFC 6962 root of its leaf hashes, and checkpoints at any earlier size agree."""
    records = clean_log()
    report = verify_log(records)
    assert report.ok and report.size == N and report.first_bad_index is None
    assert report.root == root_from_leaf_hashes([bytes.fromhex(r.leaf_hash) for r in records]).hex()
    heads = [head_of(records[:m]) for m in (1, 7, 32, N)]
    assert verify_log(records, checkpoints=heads).ok
    assert verify_log([]).ok
    assert verify_log([], Checkpoint(size=0, root=EMPTY_ROOT.hex(), at=T0)).ok
    assert not verify_log([], Checkpoint(size=0, root=report.root, at=T0)).ok


@pytest.mark.parametrize("k", POSITIONS)
def test_edited_event_is_reported_at_its_index(k: int) -> None:
    """Case 1: changing one field of event k (hashes left alone) is reported as edited at k."""
    records = clean_log()
    records[k] = replace(records[k], event=replace(records[k].event, outcome="refused_x"))
    report = verify_log(records)
    assert (report.ok, report.first_bad_index, report.problem) == (False, k, Problem.EDITED)
    assert report.size == k


@pytest.mark.parametrize("k", POSITIONS)
@pytest.mark.parametrize("renumber", [False, True], ids=["gap", "renumbered"])
def test_deleted_event_is_reported_at_its_index(k: int, renumber: bool) -> None:
    """Case 2: deleting event k is reported as deleted at k, whether it leaves a gap or later rows are renumbered."""
    records = clean_log()
    del records[k]
    if renumber:
        records[k:] = [renumbered(r, r.event.index - 1) for r in records[k:]]
    report = verify_log(records)
    assert (report.ok, report.first_bad_index, report.problem) == (False, k, Problem.DELETED)


@pytest.mark.parametrize("i,j", [(0, 1), (3, 4), (5, 40), (N - 2, N - 1)])
@pytest.mark.parametrize("style", ["rows", "contents"])
def test_swapped_events_are_reported_at_the_first(i: int, j: int, style: str) -> None:
    """Case 3: two events swapped (whole rows reordered, or their contents exchanged under fixed indices) are reported as swapped at the first."""
    records = clean_log()
    if style == "rows":
        records[i], records[j] = records[j], records[i]
    else:
        records[i], records[j] = renumbered(records[j], i), renumbered(records[i], j)
    report = verify_log(records)
    assert (report.ok, report.first_bad_index, report.problem) == (False, i, Problem.SWAPPED)
    assert report.suspect_range == (i, j + 1)


@pytest.mark.parametrize("k", [0, 1, 17, N - 1])
def test_truncated_tail_is_reported_against_a_checkpoint(k: int) -> None:
    """Case 4: cutting the log at k is invisible in the rows alone but reported as truncated at k against a checkpoint of the full log."""
    records = clean_log()
    head = head_of(records)
    assert verify_log(records[:k]).ok
    report = verify_log(records[:k], head)
    assert (report.ok, report.first_bad_index, report.problem) == (False, k, Problem.TRUNCATED)
    assert report.suspect_range == (k, N)


@pytest.mark.parametrize("k", POSITIONS)
@pytest.mark.parametrize("style", ["duplicate-index", "renumbered", "lazy-hashes"])
def test_inserted_forged_event_is_reported_at_its_index(k: int, style: str) -> None:
    """Case 5: a forged event put in at k (self-consistent or not, later rows renumbered or not) is reported as inserted at k."""
    records = clean_log()
    forged = forged_at(records, k)
    if style == "lazy-hashes":
        forged = replace(forged, leaf_hash="00" * 32, root_after="11" * 32)
    tail = records[k:]
    if style != "duplicate-index":
        tail = [renumbered(r, r.event.index + 1) for r in tail]
    records = [*records[:k], forged, *tail]
    report = verify_log(records)
    assert (report.ok, report.first_bad_index, report.problem) == (False, k, Problem.INSERTED)


@pytest.mark.parametrize("k", POSITIONS)
def test_full_recompute_is_caught_only_by_a_checkpoint_signed_before(k: int) -> None:
    """Case 6: editing event k and recomputing every hash leaves a self-consistent log; only a checkpoint from before the edit exposes it, bounded by the last checkpoint that still matches."""
    records = clean_log()
    early, before = head_of(records[: k // 2]) if k >= 2 else None, head_of(records)
    events = [r.event for r in records]
    events[k] = replace(events[k], outcome="refused_x")
    rewritten = build_log(events)
    assert verify_log(rewritten).ok
    assert verify_log(rewritten, head_of(rewritten)).ok  # a head signed after the edit agrees
    report = verify_log(rewritten, before)
    assert (report.ok, report.problem, report.first_bad_index) == (False, Problem.CHECKPOINT_MISMATCH, 0)
    assert report.suspect_range == (0, N)
    if early is not None:
        narrowed = verify_log(rewritten, checkpoints=[early, before])
        assert narrowed.problem is Problem.CHECKPOINT_MISMATCH
        assert narrowed.suspect_range == (early.size, N) and narrowed.first_bad_index == early.size


def test_rewritten_hashes_of_one_row_break_the_running_root() -> None:
    """An edited event whose leaf hash is recomputed but not its running root is reported as a root mismatch at that row."""
    records = clean_log()
    event = replace(records[9].event, outcome="refused_x")
    records[9] = AuditRecord(event, event.leaf_hash().hex(), records[9].root_after)
    report = verify_log(records)
    assert (report.first_bad_index, report.problem) == (9, Problem.ROOT_MISMATCH)


def test_rows_with_unencodable_content_are_reported_not_raised() -> None:
    """A row whose stored details cannot be canonicalised (as a tampered row might) is reported as edited instead of crashing the verifier."""
    records = clean_log()
    records[4] = replace(records[4], event=replace(records[4].event, details={"x_id": float("nan")}))
    report = verify_log(records)
    assert (report.first_bad_index, report.problem) == (4, Problem.EDITED)


def test_leaf_commits_to_the_index_and_canonical_json() -> None:
    """The leaf is RFC 8785 JSON of the event including its index and a UTC microsecond time, so the same event elsewhere hashes differently."""
    event = entry(3).at_index(3)
    assert event.leaf_bytes().startswith(b'{"action":"consent.gate","actor":"manager:alice","at":"2026-11-27T09:00:03.000003Z"')
    assert b'"index":3' in event.leaf_bytes()
    assert replace(event, index=4).leaf_hash() != event.leaf_hash()


def test_entries_hold_utc_time_and_identifiers_only() -> None:
    """An entry needs an aware time (kept as UTC), lower-case codes and details of identifiers only, so no personal data reaches the log."""
    local = dt.datetime(2026, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert AuditEntry(at=local, actor="a", action="x.y", outcome="ok").at == dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    good = dict(at=T0, actor="system", action="enquiry.opened", outcome="dispatched")
    for bad in (
        dict(good, at=dt.datetime(2026, 1, 1)),
        dict(good, actor=""),
        dict(good, action="Enquiry Opened"),
        dict(good, details={"name": "Jane Doe"}),
        dict(good, details={"subject_id": "Jane Doe"}),
        dict(good, details={"partner_ids": ["police", {"x": 1}]}),
        dict(good, details={"summary_version": True}),
        dict(good, reason=""),
    ):
        with pytest.raises(InvalidAuditEvent):
            AuditEntry(**bad)
    ok = AuditEntry(**good, details={"partner_ids": ("police", "health"), "summary_version": 2})
    assert ok.details == {"partner_ids": ["police", "health"], "summary_version": 2}


def test_checkpoint_signature_verifies_with_the_sdk() -> None:
    """sign_checkpoint makes an Ed25519 compact JWS of typ mash-audit-checkpoint+jws that adapters.sdk.signing verifies and read_checkpoint reads back."""
    key = SigningKey.generate()
    records = clean_log()
    token = sign_checkpoint(records[-1].root_after, N, T0, key)
    payload = verify(token, key_set([key.public_jwk()]), typ=CHECKPOINT_TYP)
    assert payload == {"log": "mash-audit", "size": N, "root": records[-1].root_after, "at": "2026-11-27T09:00:00.000000Z"}
    assert read_checkpoint(token, {"keys": [key.public_jwk()]}) == head_of(records)
    assert sign_checkpoint(bytes.fromhex(records[-1].root_after), N, T0, key) == token


def test_verify_audit_checks_signatures_then_the_log() -> None:
    """verify_audit accepts a log with its genuine checkpoints, flags a forged or foreign-key checkpoint, and reports tampering found through a genuine one."""
    key, other = SigningKey.generate(), SigningKey.generate()
    jwks = {"keys": [key.public_jwk()]}
    records = clean_log()
    tokens = [sign_checkpoint(records[m - 1].root_after, m, T0, key) for m in (10, N)]
    assert verify_audit(records, tokens, jwks).ok
    assert verify_audit(records, tokens, [key.public_jwk()]).checkpoints_checked == 2
    foreign = sign_checkpoint(records[-1].root_after, N, T0, other)
    assert verify_audit(records, [*tokens, foreign], jwks).problem is Problem.BAD_CHECKPOINT
    header, body, signature = tokens[1].split(".")
    flipped = f"{header}.{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert verify_audit(records, [flipped], jwks).problem is Problem.BAD_CHECKPOINT
    wrong_typ = key.sign(head_of(records).payload(), typ="mash-summary+jws")
    assert verify_audit(records, [wrong_typ], jwks).problem is Problem.BAD_CHECKPOINT
    report = verify_audit(records[:30], tokens, jwks)
    assert (report.problem, report.first_bad_index) == (Problem.TRUNCATED, 30)


def test_partner_proofs_from_the_log() -> None:
    """A partner holding an old checkpoint can check a newer one with prove_consistency, and any event with prove_inclusion."""
    records = clean_log()
    old, new = head_of(records[:13]), head_of(records)
    proof = [bytes.fromhex(h) for h in prove_consistency(records, 13, N)]
    assert verify_consistency(13, N, proof, bytes.fromhex(old.root), bytes.fromhex(new.root))
    path = [bytes.fromhex(h) for h in prove_inclusion(records, 21, N)]
    assert verify_inclusion(21, N, bytes.fromhex(records[21].leaf_hash), path, bytes.fromhex(new.root))


def test_ten_thousand_events_verify_well_under_five_seconds() -> None:
    """Recomputing every leaf hash and running root of 10,000 events takes well under 5 s."""
    records = build_log(entry(i) for i in range(10_000))
    started = time.perf_counter()
    report = verify_log(records, head_of(records))
    elapsed = time.perf_counter() - started
    print(f"verify_log of 10,000 events: {elapsed:.3f} s")
    assert report.ok and report.size == 10_000
    assert elapsed < 5.0
