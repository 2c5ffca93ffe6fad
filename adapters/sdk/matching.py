"""Deciding whether a partner's record is about a subject of a `PartnerRequest`.

Shared by every adapter so that police, health and education apply one rule and
their confidences mean the same thing. Pure functions: no I/O, no logging.

The rule, in order:

1. **Identifier conflict: no match.** If the record and the subject both carry an
   identifier of the same type (NHS number, UPN, PNC ID, local case id) and any
   such pair differs, the record is about someone else, or one side is wrong.
   Either way it must not be attached to this child, so names are not consulted.
2. **Identifier agreement: confidence 1.0** (`IDENTIFIER_CONFIDENCE`). At least one
   shared identifier is equal and none conflicts. Identifiers are checked in the
   order NHS number, UPN, PNC ID, local case id. The first equal one is reported
   as `identifier_type`.
3. **Demographics: confidence 0.85** (`NAME_DOB_POSTCODE_CONFIDENCE`). No identifier
   is held by both sides, and given name, family name, date of birth and postcode
   are all present on both sides and equal after normalisation.
4. **Anything else: no match.** That includes a missing DOB or postcode on either
   side. It also includes a record whose postcode differs from the subject's,
   even when name and DOB agree. A PDS trace treats an unrelated postcode as a
   non-match too. Attaching a namesake's police, health or school history to a
   child is a data breach that can drive a wrong safeguarding decision. A miss is
   recoverable: the MASH can re-ask with an identifier or a previous address as
   another subject. So there is no lower-confidence "name + DOB only" tier.

Normalisation:
- Names are Unicode-decomposed with accents dropped, case-folded, and stripped of
  everything but letters and digits. "O'Neill" = "ONEILL", "Smith-Jones" =
  "Smith Jones", "Zoë" = "Zoe", and "  Mary  Ann " = "MaryAnn".
- Postcodes are upper-cased with all whitespace removed ("qv3 7lp" = "QV37LP").
- NHS numbers and PNC IDs lose spaces, hyphens and slashes. UPNs lose spaces and
  are upper-cased. Local case ids are trimmed and case-folded.

Sex is not compared. Partner systems record it inconsistently, and it may change.
A mismatch would cost real matches and buy little over the other four fields.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from adapters.sdk.messages import Match, RequestSubject

IDENTIFIER_CONFIDENCE = 1.0
NAME_DOB_POSTCODE_CONFIDENCE = 0.85

IdentifierType = Literal["nhs_number", "upn", "pnc_id", "local_case_id"]


@dataclass(frozen=True, slots=True)
class RecordKeys:
    """The matching-relevant fields of one partner record (any may be unknown)."""

    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: dt.date | None = None
    postcode: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    pnc_id: str | None = None
    local_case_id: str | None = None


def normalise_name(value: str | None) -> str:
    """Case-, accent-, space- and punctuation-insensitive form of a name."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    # Dropping combining marks (not all non-ASCII) keeps non-Latin names matchable.
    return "".join(c for c in decomposed.casefold() if c.isalnum())


def normalise_postcode(value: str | None) -> str:
    """Postcode with no whitespace, upper case ("qv3 7lp" -> "QV37LP")."""
    return "".join((value or "").split()).upper()


def _digits_and_letters(value: str | None) -> str:
    return "".join(c for c in (value or "") if c.isalnum()).upper()


def _case_id(value: str | None) -> str:
    return (value or "").strip().casefold()


# Order matters: it decides which identifier is reported when several agree.
_IDENTIFIERS: tuple[tuple[IdentifierType, Callable[[str | None], str]], ...] = (
    ("nhs_number", _digits_and_letters),
    ("upn", _digits_and_letters),
    ("pnc_id", _digits_and_letters),
    ("local_case_id", _case_id),
)


def _subject_identifier(subject: RequestSubject, kind: IdentifierType) -> str | None:
    # Wire schema v1 has no pnc_id on a subject; getattr keeps this forward-compatible.
    return getattr(subject, kind, None)


def match_subject(record: RecordKeys, subject: RequestSubject) -> Match | None:
    """How `record` matches `subject` under the module rule, or None if it does not."""
    agreed: IdentifierType | None = None
    for kind, normalise in _IDENTIFIERS:
        ours = normalise(getattr(record, kind))
        theirs = normalise(_subject_identifier(subject, kind))
        if not ours or not theirs:
            continue
        if ours != theirs:
            return None
        agreed = agreed or kind
    if agreed is not None:
        return Match(
            subject_ref=subject.subject_ref,
            method="identifier",
            identifier_type=agreed,
            confidence=IDENTIFIER_CONFIDENCE,
        )
    if not _demographics_agree(record, subject):
        return None
    return Match(
        subject_ref=subject.subject_ref,
        method="name_dob_postcode",
        confidence=NAME_DOB_POSTCODE_CONFIDENCE,
    )


def _demographics_agree(record: RecordKeys, subject: RequestSubject) -> bool:
    pairs = (
        (normalise_name(record.given_name), normalise_name(subject.given_name)),
        (normalise_name(record.family_name), normalise_name(subject.family_name)),
        (normalise_postcode(record.postcode), normalise_postcode(subject.postcode)),
    )
    if any(not ours or ours != theirs for ours, theirs in pairs):
        return False
    return record.date_of_birth is not None and record.date_of_birth == subject.date_of_birth


def best_match(record: RecordKeys, subjects: Iterable[RequestSubject]) -> Match | None:
    """The highest-confidence match of `record` to any subject; ties go to request order."""
    best: Match | None = None
    for subject in subjects:
        found = match_subject(record, subject)
        if found is not None and (best is None or found.confidence > best.confidence):
            best = found
    return best
