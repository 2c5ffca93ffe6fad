"""Recipient-specific views of a summary: what a receiving service may see, made by removal.

The MASH holds the full record: the signed summary (every partner's findings, gate
decisions, who opened the enquiry), the manager's decision and the contact (with the
referrer, who stays confidential from the family). A receiving service (Early Help,
children's social care, Supporting Families) gets a view made from that record ONLY by
removing what it may not see, never by adding or rewriting:

* third-party identities: the contact's referrer block, and any text anywhere that
  carries the referrer's name, e-mail or telephone (2024 golden rule 5: protect the
  identities of people who could be harmed if an abuser learned them);
* findings whose dissemination is `mash_only` (never leaves the MASH) or a level the
  service is not configured for (`owner_approval` needs the owners' standing approval);
* findings, requested categories and partners outside the service's categories (NRP);
* the manager's decision rationale, and a partner's BRAG rationale, whenever any finding they
  may rest on was withheld from this service;
* MASH internals: gate decisions, who opened the enquiry and who approved the consent
  decision, chasing and lateness bookkeeping, and each partner's own signed reply (it
  embeds every finding, so it cannot travel with a redacted view; the broker signs the view).

`is_substructure(view["content"], full)` holds for every view (a property test checks
it), views are monotone in the categories a service may receive, and no string in a view
contains the referrer's name. Pure: no I/O, no framework.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

VIEW_TYPE = "mash.service-view"
VIEW_SCHEMA_VERSION = 1
RECEIPT_TYPE = "mash.service-receipt"
NEVER_RELEASED = frozenset({"mash_only"})
RELEASABLE_LEVELS = frozenset({"summary_safe", "owner_approval"})

DECISION_OUTCOMES = (
    "section_17_assessment",
    "section_47_strategy_discussion",
    "early_help",
    "supporting_families",
    "universal_services_advice",
    "no_further_action",
)

# What of the summary may travel at all (anything else, e.g. a field added later, stays
# in the MASH until someone decides it may leave).
SUMMARY_KEYS = (
    "type", "schema_version", "summary_id", "version", "supersedes", "enquiry_id", "purpose",
    "subjects", "consent", "agreements", "initial_brag", "partners", "suggested_brag",
    "completion", "state", "opened_at", "dispatched_at", "deadline_at", "completed_at",
    "issued_at", "audit_checkpoint",
)
CONSENT_KEYS = ("status", "given_by", "reason", "lawful_basis", "family_informed",
                "family_informed_reason", "decided_at")
PARTNER_KEYS = ("partner_id", "partner_name", "request_id", "categories_requested", "agreement",
                "outcome", "late", "replied_at", "brag", "findings", "declined_reason", "purged_at")
DECISION_KEYS = ("decision_id", "contact_id", "enquiry_id", "summary_id", "summary_sha256", "brag",
                 "outcome", "rationale", "decided_by", "decided_at")
CONTACT_KEYS = ("contact_id", "received_at", "reason", "concerns", "brag", "screening", "subjects")

# Name parts are searched for only in free text (a surname shared with the family must not
# strip the child's own name from the subjects).
_FREE_TEXT_KEY = re.compile(
    r"(^|_)(summary|rationale|reason|notes?|worries|working_well|next_steps|concerns?|advice|text)$"
)
_IDENTITY_KEY = re.compile(r"name|email|e_mail|phone|telephone|mobile")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "the", "and", "prof"})
_MIN_TOKEN = 3


@dataclass(frozen=True, slots=True)
class ServicePolicy:
    """What one receiving service may see."""

    service_id: str
    name: str
    categories: frozenset[str]
    dissemination: frozenset[str] = frozenset({"summary_safe"})

    @property
    def levels(self) -> frozenset[str]:
        """Dissemination levels it may receive: mash_only never, whatever the configuration says."""
        return (self.dissemination & RELEASABLE_LEVELS) - NEVER_RELEASED


@dataclass(frozen=True, slots=True)
class ReferrerIdentity:
    """Strings that identify the referrer: whole values, and name parts for free text."""

    values: tuple[str, ...]
    name_parts: tuple[str, ...]

    def in_value(self, text: str, *, free_text: bool) -> bool:
        folded = text.casefold()
        if any(v in folded for v in self.values):
            return True
        if free_text:
            words = set(re.findall(r"[\w'-]+", folded))
            return any(part in words for part in self.name_parts)
        return False


def referrer_identity(contact: Mapping[str, Any] | None) -> ReferrerIdentity:
    """The referrer's identifying strings, from the contact's `referrer` block."""
    referrer = (contact or {}).get("referrer")
    values: set[str] = set()
    parts: set[str] = set()
    if isinstance(referrer, Mapping):
        for key, value in referrer.items():
            if not isinstance(value, str) or not _IDENTITY_KEY.search(str(key)):
                continue
            folded = " ".join(value.casefold().split())
            if len(folded) >= _MIN_TOKEN:
                values.add(folded)
            if "name" in str(key):
                parts.update(w for w in re.findall(r"[\w'-]+", folded)
                             if len(w) >= _MIN_TOKEN and w not in _TITLES)
    elif isinstance(referrer, str) and len(referrer.strip()) >= _MIN_TOKEN:
        values.add(" ".join(referrer.casefold().split()))
    return ReferrerIdentity(tuple(sorted(values)), tuple(sorted(parts)))


def full_record(
    summary: Mapping[str, Any], decision: Mapping[str, Any] | None, contact: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The whole record a view is cut from."""
    return {"summary": dict(summary), "decision": dict(decision) if decision else None,
            "contact": dict(contact) if contact else None}


def _pick(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {k: data[k] for k in keys if k in data}


def _finding_allowed(finding: Any, policy: ServicePolicy) -> bool:
    return (
        isinstance(finding, Mapping)
        and finding.get("category") in policy.categories
        and finding.get("dissemination") in policy.levels
    )


def _withholds(entry: Mapping[str, Any], policy: ServicePolicy) -> bool:
    """Whether any of this partner's findings stays out of the service's view."""
    findings = entry.get("findings")
    return isinstance(findings, list) and not all(_finding_allowed(f, policy) for f in findings)


def _partner(entry: Mapping[str, Any], policy: ServicePolicy) -> dict[str, Any] | None:
    requested = entry.get("categories_requested")
    requested = list(requested) if isinstance(requested, list) else []
    needed = [c for c in requested if c in policy.categories]
    if not needed:
        return None  # nothing this partner was asked is within the service's need
    kept = _pick(entry, PARTNER_KEYS)
    kept["categories_requested"] = needed
    findings = entry.get("findings")
    withheld = False
    if isinstance(findings, list):
        allowed = [dict(f) for f in findings if _finding_allowed(f, policy)]
        withheld = len(allowed) != len(findings)
        kept["findings"] = allowed
    brag = entry.get("brag")
    if isinstance(brag, Mapping):
        # The partner's rationale may rest on what was withheld: it goes only with all of it.
        kept["brag"] = dict(brag) if not withheld else _pick(brag, ("rating",))
    return kept


def _summary(summary: Mapping[str, Any], policy: ServicePolicy) -> dict[str, Any]:
    kept = _pick(summary, SUMMARY_KEYS)
    consent = summary.get("consent")
    if isinstance(consent, Mapping):
        kept["consent"] = _pick(consent, CONSENT_KEYS)
    partners = summary.get("partners")
    if isinstance(partners, list):
        entries = (_partner(p, policy) for p in partners if isinstance(p, Mapping))
        kept["partners"] = [p for p in entries if p is not None]
    return kept


def _sweep(value: Any, identity: ReferrerIdentity, *, key: str = "") -> tuple[bool, Any]:
    """(keep, value) with every string that identifies the referrer removed."""
    if isinstance(value, str):
        return (not identity.in_value(value, free_text=bool(_FREE_TEXT_KEY.search(key))), value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            keep, swept = _sweep(v, identity, key=str(k))
            if keep:
                out[k] = swept
        return True, out
    if isinstance(value, list):
        items = []
        for item in value:
            keep, swept = _sweep(item, identity, key=key)
            if keep:
                items.append(swept)
        return True, items
    return True, value


def redact(full: Mapping[str, Any], policy: ServicePolicy) -> dict[str, Any]:
    """The part of `full` (see `full_record`) this service may see."""
    summary = full.get("summary") or {}
    decision = full.get("decision")
    contact = full.get("contact")
    content: dict[str, Any] = {"summary": _summary(summary, policy)}
    content["decision"] = _pick(decision, DECISION_KEYS) if isinstance(decision, Mapping) else None
    partners = summary.get("partners") if isinstance(summary, Mapping) else None
    if content["decision"] and isinstance(partners, list) and any(
        _withholds(p, policy) for p in partners if isinstance(p, Mapping)
    ):
        # The manager's rationale may rest on findings this service does not see: like a
        # partner's BRAG rationale, it travels only when nothing was withheld.
        content["decision"].pop("rationale", None)
    # The referrer block never travels; only what the contact says about the child.
    content["contact"] = _pick(contact, CONTACT_KEYS) if isinstance(contact, Mapping) else None
    identity = referrer_identity(contact if isinstance(contact, Mapping) else None)
    if identity.values or identity.name_parts:
        _, content = _sweep(content, identity)
    return content


def _time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def make_view(
    full: Mapping[str, Any],
    policy: ServicePolicy,
    *,
    view_id: str,
    summary_sha256: str | None,
    issued_at: dt.datetime,
) -> dict[str, Any]:
    """The view payload the broker signs for one service."""
    summary = full.get("summary") or {}
    decision = full.get("decision") or {}
    return {
        "type": VIEW_TYPE,
        "schema_version": VIEW_SCHEMA_VERSION,
        "view_id": view_id,
        "service_id": policy.service_id,
        "enquiry_id": summary.get("enquiry_id"),
        "summary_id": summary.get("summary_id"),
        "summary_version": summary.get("version"),
        "summary_sha256": summary_sha256,
        "decision_id": decision.get("decision_id"),
        "decision_outcome": decision.get("outcome"),
        "issued_at": _time(issued_at),
        "content": redact(full, policy),
    }


def is_substructure(part: Any, whole: Any) -> bool:
    """Whether `part` is `whole` with things removed: dict keys dropped, list items dropped
    (order kept), recursively; scalars equal."""
    if isinstance(part, Mapping):
        return isinstance(whole, Mapping) and all(
            k in whole and is_substructure(v, whole[k]) for k, v in part.items()
        )
    if isinstance(part, list):
        if not isinstance(whole, list):
            return False
        position = 0
        for item in part:
            while position < len(whole) and not is_substructure(item, whole[position]):
                position += 1
            if position == len(whole):
                return False
            position += 1
        return True
    return type(part) is type(whole) and part == whole


def strings_in(value: Any) -> Iterable[str]:
    """Every string value (not key) in a JSON-like structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)
