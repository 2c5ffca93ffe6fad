"""Turning a partner's scored hits into an `Answer`.

One job, shared by every adapter so that their replies are built the same way.
An adapter rates each record it finds as a `Hit`: the `Finding` it would share,
the BRAG level that record earns on its own, and the reason for that level.
This module then:

- keeps one hit per (category, source reference, subject): the best-matched one
  (`best_per_record`), because duplicate records for one person can carry the
  same entry;
- sorts the hits newest first, with ties in a fixed order so that replies are
  reproducible;
- rates the answer at the highest level any hit earns, and builds the rationale
  from the distinct reasons at that level (a partner rule may decide the rating
  instead: `to_answer(..., override=...)`);
- sends at most `MAX_FINDINGS` findings, saying so in the rationale when it cuts;
- and answers no trace when there is nothing to share.

Pure functions: no I/O, no logging. What a record means, and the level it earns,
stay with each adapter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from adapters.sdk.messages import MAX_FINDINGS, Answer, Brag, Finding, Match, PartnerBrag

SosDomain = Literal["worry", "working_well", "complicating_factor"]
Dissemination = Literal["summary_safe", "mash_only", "owner_approval"]
LEVELS: tuple[Brag, ...] = ("blue", "green", "amber", "red")
"""BRAG levels, lowest first."""

MAX_TEXT = 2000
"""Longest summary or rationale the wire accepts (`LongText`)."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One finding an adapter would share, with the level it earns and why."""

    finding: Finding
    level: Brag
    reason: str


class Scored(Protocol):
    """Anything that carries a finding: a `Hit`, or an adapter's own hit built around one."""

    @property
    def finding(self) -> Finding: ...


S = TypeVar("S", bound=Scored)


def hit(
    match: Match,
    *,
    category: str,
    day: dt.date,
    summary: str,
    system: str,
    reference: str,
    sos_domain: SosDomain,
    dissemination: Dissemination,
    level: Brag,
    reason: str,
) -> Hit:
    """A `Hit` for one record matched to a subject (the summary is cut to fit the wire)."""
    finding = Finding(
        category=category,
        date=day,
        summary=summary[:MAX_TEXT],
        source_system=system,
        source_reference=reference,
        match=match,
        sos_domain=sos_domain,
        dissemination=dissemination,
    )
    return Hit(finding, level, reason)


def best_per_record(hits: Iterable[S]) -> list[S]:
    """One hit per (category, source reference, subject): the highest match confidence.

    Duplicate records for one person (two nominals, two registrations, two pupil
    rows) can link to the same entry. On equal confidence the first hit is kept.
    """
    best: dict[tuple[str, str, str], S] = {}
    for h in hits:
        f = h.finding
        key = (f.category, f.source_reference, f.match.subject_ref)
        if key not in best or f.match.confidence > best[key].finding.match.confidence:
            best[key] = h
    return list(best.values())


def highest(hits: Sequence[Hit]) -> tuple[Brag, list[str]]:
    """The highest level any hit earns, and the distinct reasons at that level, in order."""
    level = max((h.level for h in hits), key=LEVELS.index)
    return level, list(dict.fromkeys(h.reason for h in hits if h.level == level))


def to_answer(
    hits: Iterable[Hit], *, override: tuple[Brag, Sequence[str]] | None = None
) -> Answer:
    """The `Answer` for `hits`: no trace if there are none, else the findings and a BRAG.

    The rating is `highest(hits)` unless a partner's own rule decides it (`override`,
    a level and its reasons), e.g. a combination of records that no one record shows.
    """
    # Newest first; ties in a fixed order so replies are reproducible.
    ordered = sorted(
        hits,
        key=lambda h: (
            -h.finding.date.toordinal(),
            h.finding.category,
            h.finding.source_reference,
            h.finding.match.subject_ref,
        ),
    )
    if not ordered:
        return Answer.no_trace()
    level, reasons = override or highest(ordered)
    rationale = f"{level.capitalize()}: {'; '.join(reasons)}."
    if len(ordered) > MAX_FINDINGS:
        rationale += f" Only the {MAX_FINDINGS} most recent of {len(ordered)} findings are sent."
    brag = PartnerBrag(rating=level, rationale=rationale[:MAX_TEXT])
    return Answer.with_findings([h.finding for h in ordered[:MAX_FINDINGS]], brag)
