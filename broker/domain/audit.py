"""The tamper-evident audit log: events, their RFC 8785 leaf bytes, and the verifier.

Each stored row holds its event, the RFC 6962 leaf hash of the event's canonical JSON (which
includes the event's index, so an event moved elsewhere no longer matches its hash) and the
running Merkle root after it. `verify_log` recomputes all of that and reports the first row
that does not hold, with what went wrong: an edited, deleted, swapped or inserted event is
found at its exact index from the rows alone.

An attacker who can write the table and recomputes every hash after an edit leaves a log
that is consistent with itself; only a checkpoint (size, root, time) signed before the edit
and held outside the database exposes that, and a truncated tail likewise. Checkpoints given
to `verify_log` are taken as already verified (signature checks are the service's job).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import rfc8785

from broker.domain.merkle import EMPTY_ROOT, CompactRange, leaf_hash

LEAF_VERSION = 1

_NAME = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}(_id|_ids|_version|_kid)$")
_ID_VALUE = re.compile(r"^[A-Za-z0-9._:@/+\-]{1,200}$")


class InvalidAuditEvent(ValueError):
    """An audit entry that must not be written; the message says which field and why."""


def format_time(at: dt.datetime) -> str:
    """UTC with microseconds and a Z, the one form that enters a leaf or a checkpoint."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> dt.datetime:
    value = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return value.replace(tzinfo=dt.UTC)


def _check_details(details: Mapping[str, Any]) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in details.items():
        if not isinstance(key, str) or not _DETAIL_KEY.match(key):
            raise InvalidAuditEvent(
                f"details key {key!r}: only identifiers (names ending _id, _ids, _version, _kid)"
            )
        if isinstance(value, bool) or not isinstance(value, str | int | list | tuple):
            raise InvalidAuditEvent(f"details[{key!r}] must be an identifier, a count or a list of identifiers")
        items = list(value) if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, int) and not isinstance(item, bool):
                if not 0 <= item < 2**53:
                    raise InvalidAuditEvent(f"details[{key!r}] is out of range")
            elif not isinstance(item, str) or not _ID_VALUE.match(item):
                raise InvalidAuditEvent(f"details[{key!r}] holds something that is not an identifier")
        checked[key] = list(value) if isinstance(value, list | tuple) else value
    return checked


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """Something that happened, as a use case records it; the log gives it its index.

    `reason` carries the reason or lawful basis for a share or a refusal; `details` holds
    identifiers only (request, partner, agreement, summary ids and versions), never personal data.
    """

    at: dt.datetime
    actor: str
    action: str
    outcome: str
    enquiry_id: str | None = None
    reason: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.at, dt.datetime) or self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidAuditEvent("at must be a timezone-aware datetime")
        object.__setattr__(self, "at", self.at.astimezone(dt.UTC))
        if not isinstance(self.actor, str) or not 0 < len(self.actor) <= 200 or self.actor != self.actor.strip():
            raise InvalidAuditEvent("actor must be a non-empty name of at most 200 characters")
        for name in ("action", "outcome"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _NAME.match(value):
                raise InvalidAuditEvent(f"{name} must be a lower-case code such as 'enquiry.opened'")
        if self.enquiry_id is not None and (not isinstance(self.enquiry_id, str) or not _ID_VALUE.match(self.enquiry_id)):
            raise InvalidAuditEvent("enquiry_id must be an identifier or None")
        if self.reason is not None and (not isinstance(self.reason, str) or not 0 < len(self.reason) <= 2000):
            raise InvalidAuditEvent("reason must be None or 1..2000 characters")
        object.__setattr__(self, "details", _check_details(self.details))

    def at_index(self, index: int) -> AuditEvent:
        return AuditEvent(
            index=index, at=self.at, actor=self.actor, action=self.action,
            enquiry_id=self.enquiry_id, outcome=self.outcome, reason=self.reason,
            details=dict(self.details),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """An event at its place in the log. Built from stored rows as they are, so a tampered
    row still loads and is reported instead of refused (AuditEntry validates what is written)."""

    index: int
    at: dt.datetime
    actor: str
    action: str
    enquiry_id: str | None
    outcome: str
    reason: str | None
    details: Mapping[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        """The JSON object the leaf commits to."""
        return {
            "v": LEAF_VERSION,
            "index": self.index,
            "at": format_time(self.at),
            "actor": self.actor,
            "action": self.action,
            "enquiry_id": self.enquiry_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "details": dict(self.details) if isinstance(self.details, Mapping) else self.details,
        }

    def leaf_bytes(self) -> bytes:
        """RFC 8785 canonical JSON of `document()`: the Merkle leaf data."""
        return bytes(rfc8785.dumps(self.document()))

    def leaf_hash(self) -> bytes:
        """SHA-256(0x00 || leaf_bytes()), the RFC 6962 leaf hash."""
        return leaf_hash(self.leaf_bytes())


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """A stored row: the event, its leaf hash and the log's root after it (both hex)."""

    event: AuditEvent
    leaf_hash: str
    root_after: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A tree head: the log had `size` events with this root at this time (signed elsewhere)."""

    size: int
    root: str
    at: dt.datetime

    def payload(self) -> dict[str, Any]:
        return {"log": "mash-audit", "size": self.size, "root": self.root, "at": format_time(self.at)}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Checkpoint:
        """Read a signed payload back; ValueError when it is not a checkpoint."""
        if payload.get("log") != "mash-audit":
            raise ValueError("not a mash-audit checkpoint")
        size, root, at = payload.get("size"), payload.get("root"), payload.get("at")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError("checkpoint size must be a non-negative integer")
        if not isinstance(root, str) or not re.fullmatch(r"[0-9a-f]{64}", root):
            raise ValueError("checkpoint root must be 64 lower-case hex digits")
        if not isinstance(at, str):
            raise ValueError("checkpoint time must be a string")
        return cls(size=size, root=root, at=parse_time(at))


def build_log(entries: Iterable[AuditEntry | AuditEvent], start: CompactRange | None = None) -> list[AuditRecord]:
    """Rows for these events appended after `start` (an empty log by default).

    AuditEvents keep their own index (used to rebuild a log from edited events, as an
    attacker would); AuditEntries get the next index. `start` is advanced in place.
    """
    compact = start if start is not None else CompactRange()
    records: list[AuditRecord] = []
    for item in entries:
        event = item.at_index(compact.size) if isinstance(item, AuditEntry) else item
        leaf = event.leaf_hash()
        compact.append(leaf)
        records.append(AuditRecord(event, leaf.hex(), compact.root().hex()))
    return records


class Problem(enum.StrEnum):
    EDITED = "edited"                    # the row's event no longer matches its leaf hash
    DELETED = "deleted"                  # an index is missing (with or without renumbering)
    SWAPPED = "swapped"                  # two rows hold each other's events
    INSERTED = "inserted"                # a row that is not part of the log
    OUT_OF_ORDER = "out_of_order"        # an index where another was expected
    ROOT_MISMATCH = "root_mismatch"      # a valid leaf whose running root does not chain
    TRUNCATED = "truncated"              # fewer events than a signed checkpoint covers
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # the log does not hash to a signed root
    BAD_CHECKPOINT = "bad_checkpoint"    # a checkpoint whose signature or payload is bad


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """What `verify_log` found.

    `first_bad_index` is the exact index of the first tampered event when the rows show it;
    for a checkpoint mismatch (a rewrite with every hash recomputed) the rows cannot show it
    and it is the lowest index that may have changed, `suspect_range` then bounding it.
    `size` and `root` are those of the verified prefix (the whole log when ok).
    """

    ok: bool
    size: int
    root: str
    first_bad_index: int | None = None
    problem: Problem | None = None
    detail: str = ""
    suspect_range: tuple[int, int] | None = None
    checkpoints_checked: int = 0


def _leaf_hex(event: AuditEvent, index: int | None = None) -> str | None:
    """The leaf hash of the event (at another index if given); None if it cannot be encoded."""
    try:
        if index is not None and index != event.index:
            event = replace(event, index=index)
        return event.leaf_hash().hex()
    except (TypeError, ValueError, OverflowError):
        return None


def _genuine(record: AuditRecord, index: int) -> bool:
    """The row's stored leaf hash is that of its event placed at `index`."""
    return _leaf_hex(record.event, index) == record.leaf_hash


def _chains(compact: CompactRange, record: AuditRecord, index: int) -> bool:
    """The row is the event at `index` and its stored root follows from the leaves in `compact`."""
    if not _genuine(record, index):
        return False
    return compact.appended(bytes.fromhex(record.leaf_hash)).root().hex() == record.root_after


def _bad(p: int, problem: Problem, detail: str, compact: CompactRange, last: int | None = None) -> AuditReport:
    return AuditReport(
        ok=False, size=compact.size, root=compact.root().hex(), first_bad_index=p,
        problem=problem, detail=detail, suspect_range=(p, (last if last is not None else p) + 1),
    )


def _diagnose(rows: Sequence[AuditRecord], p: int, compact: CompactRange, before: CompactRange | None) -> AuditReport:
    """Say what happened at position p, the first row that does not verify.

    `compact` holds the verified rows 0..p-1 and `before` rows 0..p-2.
    """
    row = rows[p]
    index = row.event.index
    n = len(rows)
    # Two rows hold each other's events (whole rows reordered, or contents exchanged).
    partner = next(
        (q for q in range(p + 1, n) if rows[q].event.index == p and _genuine(rows[q], p)), None
    )
    if partner is None:
        partner = next((q for q in range(p + 1, n) if _genuine(rows[q], p)), None)
    if partner is not None and _genuine(row, partner):
        return _bad(p, Problem.SWAPPED, f"events {p} and {partner} have been swapped", compact, partner)
    # The row is the genuine event p-1 chaining from rows 0..p-2: the row before it is foreign.
    if p >= 1 and before is not None and _chains(before, row, p - 1):
        return _bad(
            p - 1, Problem.INSERTED,
            f"the row at {p - 1} is not part of the log: the next row is the genuine event {p - 1}",
            before,
        )
    # This row is foreign and the next one is the genuine event p, chaining from rows 0..p-1.
    if p + 1 < n and _chains(compact, rows[p + 1], p):
        return _bad(p, Problem.INSERTED, f"the row at {p} is not part of the log: the next row is the genuine event {p}", compact)
    # The row is a later event: event p (and maybe more) is gone.
    for q in dict.fromkeys((index, p + 1)):
        if isinstance(q, int) and q > p and _genuine(row, q):
            missing = "event" if q == p + 1 else f"events {p}..{q - 1}"
            renumbered = "" if index == q else " and later events renumbered"
            return _bad(p, Problem.DELETED, f"{missing} deleted{renumbered} (index {p} holds event {q})", compact, q - 1)
    if index != p:
        return _bad(p, Problem.OUT_OF_ORDER, f"expected index {p}, found {index!r}", compact)
    if _leaf_hex(row.event) != row.leaf_hash:
        return _bad(p, Problem.EDITED, f"event {p} does not match its leaf hash: it was edited", compact)
    return _bad(
        p, Problem.ROOT_MISMATCH,
        f"event {p} matches its leaf hash but its running root does not follow from events 0..{p - 1}: "
        f"the row's hashes were recomputed, or earlier rows were rewritten along with theirs",
        compact,
    )


def verify_log(
    records: Iterable[AuditRecord],
    checkpoint: Checkpoint | None = None,
    *,
    checkpoints: Iterable[Checkpoint] = (),
) -> AuditReport:
    """Recompute every leaf hash and running root, then compare with the checkpoints.

    Rows are taken in the order given (the store gives them by index). Returns at the first
    problem. Checkpoints must already be authenticated: see `broker.service.audit.verify_audit`.
    """
    rows = list(records)
    heads = sorted([*checkpoints, *([checkpoint] if checkpoint is not None else [])], key=lambda c: c.size)
    compact, before = CompactRange(), None
    for p, row in enumerate(rows):
        leaf = _leaf_hex(row.event)
        if row.event.index != p or leaf is None or leaf != row.leaf_hash:
            return _diagnose(rows, p, compact, before)
        extended = compact.appended(bytes.fromhex(leaf))
        if extended.root().hex() != row.root_after:
            return _diagnose(rows, p, compact, before)
        before, compact = compact, extended
    n = len(rows)
    verified_up_to = 0
    for number, head in enumerate(heads, start=1):
        if head.size > n:
            return AuditReport(
                ok=False, size=n, root=compact.root().hex(), first_bad_index=n,
                problem=Problem.TRUNCATED, suspect_range=(n, head.size), checkpoints_checked=number,
                detail=f"the log ends at {n} events but a checkpoint signed at {format_time(head.at)} covers {head.size}: "
                       f"events {n}..{head.size - 1} are gone",
            )
        root = rows[head.size - 1].root_after if head.size else EMPTY_ROOT.hex()
        if root != head.root:
            return AuditReport(
                ok=False, size=n, root=compact.root().hex(), first_bad_index=verified_up_to,
                problem=Problem.CHECKPOINT_MISMATCH, suspect_range=(verified_up_to, head.size),
                checkpoints_checked=number,
                detail=f"events 0..{head.size - 1} do not hash to the root signed at {format_time(head.at)}: "
                       f"the log was rewritten with its hashes recomputed somewhere in {verified_up_to}..{head.size - 1}",
            )
        verified_up_to = head.size
    return AuditReport(ok=True, size=n, root=compact.root().hex(), checkpoints_checked=len(heads))
