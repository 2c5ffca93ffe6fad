"""Turning scored hits into an Answer, shared by the partner adapters (adapters/sdk/answers.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from adapters.sdk.answers import Hit, best_per_record, highest, hit, to_answer
from adapters.sdk.messages import MAX_FINDINGS, Brag, Finding, Match

DAY = dt.date(2026, 10, 1)


def match(ref: str = "s1", confidence: float = 1.0) -> Match:
    if confidence == 1.0:
        return Match(
            subject_ref=ref, method="identifier", identifier_type="upn", confidence=confidence
        )
    return Match(subject_ref=ref, method="name_dob_postcode", confidence=confidence)


def scored(
    level: Brag = "green",
    reason: str = "a reason",
    *,
    day: dt.date = DAY,
    category: str = "test.things",
    reference: str = "REF-1",
    subject: str = "s1",
    confidence: float = 1.0,
    summary: str = "Something happened.",
) -> Hit:
    return hit(
        match(subject, confidence),
        category=category,
        day=day,
        summary=summary,
        system="Test system",
        reference=reference,
        sos_domain="worry",
        dissemination="mash_only",
        level=level,
        reason=reason,
    )


def test_no_hits_is_no_trace() -> None:
    answer = to_answer([])
    assert answer.outcome == "no_trace" and answer.findings == [] and answer.brag is None


def test_hit_builds_the_finding_and_cuts_the_summary_to_fit_the_wire() -> None:
    h = scored("amber", "why", summary="x" * 2500)
    assert (h.level, h.reason) == ("amber", "why")
    assert h.finding.summary == "x" * 2000
    assert (h.finding.source_system, h.finding.source_reference) == ("Test system", "REF-1")
    assert (h.finding.sos_domain, h.finding.dissemination) == ("worry", "mash_only")


def test_findings_are_newest_first_with_ties_in_a_fixed_order() -> None:
    older = scored(day=DAY - dt.timedelta(days=3))
    tie_b = scored(category="test.b")
    tie_a2 = scored(category="test.a", reference="R2")
    tie_a1_s2 = scored(category="test.a", reference="R1", subject="s2")
    tie_a1_s1 = scored(category="test.a", reference="R1", subject="s1")
    answer = to_answer([older, tie_b, tie_a2, tie_a1_s2, tie_a1_s1])
    expected = [tie_a1_s1, tie_a1_s2, tie_a2, tie_b, older]
    assert answer.findings == [h.finding for h in expected]


def test_rating_is_the_highest_level_with_its_distinct_reasons_newest_first() -> None:
    hits = [
        scored("amber", "older amber", day=DAY - dt.timedelta(days=9), reference="R1"),
        scored("red", "red one", day=DAY - dt.timedelta(days=5), reference="R2"),
        scored("blue", "blue", day=DAY, reference="R3"),
        scored("red", "red two", day=DAY - dt.timedelta(days=1), reference="R4"),
        scored("red", "red one", day=DAY - dt.timedelta(days=7), reference="R5"),
    ]
    answer = to_answer(hits)
    assert answer.outcome == "findings" and answer.brag is not None
    assert answer.brag.rating == "red"
    assert answer.brag.rationale == "Red: red two; red one."
    assert highest(hits) == ("red", ["red one", "red two"])


def test_a_partner_rule_can_decide_the_rating() -> None:
    answer = to_answer([scored("green", "minor")], override=("red", ["the combination"]))
    assert answer.brag is not None
    assert (answer.brag.rating, answer.brag.rationale) == ("red", "Red: the combination.")


def test_at_most_max_findings_are_sent_and_the_rationale_says_so() -> None:
    hits = [
        scored(day=DAY - dt.timedelta(days=i), reference=f"R{i}") for i in range(MAX_FINDINGS + 5)
    ]
    answer = to_answer(hits)
    assert len(answer.findings) == MAX_FINDINGS
    assert answer.findings[0].date == DAY
    assert answer.findings[-1].date == DAY - dt.timedelta(days=MAX_FINDINGS - 1)
    assert answer.brag is not None
    assert answer.brag.rationale == (
        f"Green: a reason. Only the {MAX_FINDINGS} most recent of {MAX_FINDINGS + 5} "
        "findings are sent."
    )


def test_best_per_record_keeps_the_best_match_per_record_and_subject() -> None:
    weak = scored("green", "weak", confidence=0.85)
    strong = scored("amber", "strong")
    strong_again = scored("red", "same confidence, later")
    other_subject = scored(subject="s2", confidence=0.85)
    other_record = scored(reference="REF-2", confidence=0.85)
    kept = best_per_record([weak, strong, strong_again, other_subject, other_record])
    assert kept == [strong, other_subject, other_record]


def test_best_per_record_keeps_an_adapters_own_hit_whole() -> None:
    @dataclass(frozen=True)
    class Extra:
        hit: Hit
        fact: bool

        @property
        def finding(self) -> Finding:
            return self.hit.finding

    weak = Extra(scored(confidence=0.85), fact=False)
    strong = Extra(scored(), fact=True)
    assert best_per_record([weak, strong]) == [strong]
