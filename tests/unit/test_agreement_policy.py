"""Agreement policy: whom an enquiry may ask, for what, and why others are left out."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agreements.loader import load_directory
from agreements.model import Agreement
from agreements.policy import ScopeDecision, decide_scope, request_is_covered
from broker.domain.consent import ConsentStatus
from broker.domain.enquiry import EnquiryState, RequestStatus
from broker.domain.gates import apply_gates

from .builders import PURPOSE, T0, agreement, consent_given, consent_without, ids, open_enquiry, party

DAY = dt.date(2026, 3, 2)
DOCUMENTS = Path(__file__).resolve().parents[2] / "agreements" / "documents"


def _asked(scope: ScopeDecision) -> dict[str, tuple[str, str, frozenset[str]]]:
    return {s.partner_id: (s.agreement_id, s.agreement_version, s.categories) for s in scope.asked}


def _excluded(scope: ScopeDecision) -> dict[str, str]:
    return {e.partner_id: e.reason for e in scope.excluded}


# --- hand-built agreements ----------------------------------------------------------------------


def test_agreement_in_force_asks_its_parties_for_their_categories() -> None:
    """Every party of an agreement in force for the purpose is asked for its own categories."""
    scope = decide_scope(
        [agreement("isa", "1.0", parties=[party("police", ["police.a", "police.b"]), party("health", ["health.a"])])],
        purpose=PURPOSE,
        day=DAY,
    )
    assert _asked(scope) == {
        "health": ("isa", "1.0", frozenset({"health.a"})),
        "police": ("isa", "1.0", frozenset({"police.a", "police.b"})),
    }
    assert scope.excluded == ()


def test_expired_agreement_excludes_its_parties_saying_when_it_ended() -> None:
    """Parties of an agreement that ended before the day are not asked; the reason gives the end date."""
    scope = decide_scope(
        [agreement("housing", "1.0", parties=[party("housing", ["h.t"])], effective_to=dt.date(2024, 12, 31))],
        purpose=PURPOSE,
        day=DAY,
    )
    assert scope.asked == ()
    assert _excluded(scope) == {"housing": "agreement housing v1.0 ended on 2024-12-31"}


def test_agreement_is_in_force_on_its_last_and_first_day() -> None:
    """effective_from and effective_to are both inclusive."""
    first_and_last = agreement("isa", "1.0", parties=[party("p1", ["c"])], effective_from=DAY, effective_to=DAY)
    assert _asked(decide_scope([first_and_last], purpose=PURPOSE, day=DAY))
    assert not decide_scope([first_and_last], purpose=PURPOSE, day=DAY + dt.timedelta(days=1)).asked
    assert not decide_scope([first_and_last], purpose=PURPOSE, day=DAY - dt.timedelta(days=1)).asked


def test_agreement_not_yet_in_force_excludes_its_parties_saying_when_it_starts() -> None:
    """Parties of an agreement that takes effect later are not asked; the reason gives the start date."""
    scope = decide_scope(
        [agreement("probation", "1.0", parties=[party("probation", ["p.s"])], effective_from=dt.date(2027, 4, 1))],
        purpose=PURPOSE,
        day=DAY,
    )
    assert scope.asked == ()
    assert _excluded(scope) == {"probation": "agreement probation v1.0 takes effect on 2027-04-01"}


@pytest.mark.parametrize("status", ["suspended", "draft", "terminated"])
def test_agreement_that_is_not_active_excludes_its_parties(status: str) -> None:
    """A suspended, draft or terminated agreement asks nobody, and the reason names the status."""
    scope = decide_scope(
        [agreement("isa", "2.0", parties=[party("police", ["c"])], status=status)], purpose=PURPOSE, day=DAY
    )
    assert scope.asked == ()
    assert _excluded(scope) == {"police": f"agreement isa v2.0 has status {status}"}


def test_agreement_for_another_purpose_excludes_its_parties() -> None:
    """An agreement in force that does not cover the enquiry's purpose asks nobody, saying so."""
    scope = decide_scope(
        [agreement("isa", "1.0", parties=[party("police", ["c"])], purposes=["adult-safeguarding"])],
        purpose=PURPOSE,
        day=DAY,
    )
    assert scope.asked == ()
    assert _excluded(scope) == {"police": f"agreement isa v1.0 does not cover the purpose {PURPOSE!r}"}


def test_party_with_no_categories_is_excluded() -> None:
    """A party the agreement allows no data categories is not asked, and the reason says so."""
    scope = decide_scope(
        [agreement("isa", "1.0", parties=[party("police", ["c"]), party("voluntary", [])])],
        purpose=PURPOSE,
        day=DAY,
    )
    assert set(_asked(scope)) == {"police"}
    assert _excluded(scope) == {"voluntary": "agreement isa v1.0 allows this partner no data categories"}


@pytest.mark.parametrize("reverse", [False, True])
def test_newest_effective_version_wins_and_narrows_categories(reverse: bool) -> None:
    """Of two versions in force, the one that took effect last decides the categories (no union)."""
    older = agreement("isa", "1.0", parties=[party("health", ["a", "b", "c"])], effective_from=dt.date(2025, 1, 1))
    newer = agreement("isa", "2.0", parties=[party("health", ["a"])], effective_from=dt.date(2026, 1, 1))
    documents = [newer, older] if reverse else [older, newer]
    scope = decide_scope(documents, purpose=PURPOSE, day=DAY)
    assert _asked(scope) == {"health": ("isa", "2.0", frozenset({"a"}))}
    assert scope.excluded == ()


def test_newest_version_across_agreements_wins() -> None:
    """When two different agreements name the partner, the one that took effect last decides."""
    older = agreement("alpha", "5.0", parties=[party("police", ["x", "y"])], effective_from=dt.date(2025, 6, 1))
    newer = agreement("beta", "1.0", parties=[party("police", ["x"])], effective_from=dt.date(2025, 9, 1))
    assert _asked(decide_scope([newer, older], purpose=PURPOSE, day=DAY)) == {
        "police": ("beta", "1.0", frozenset({"x"}))
    }


def test_newer_version_not_yet_in_force_leaves_the_current_one_deciding() -> None:
    """A signed but future version does not narrow (or widen) what is asked today."""
    current = agreement("isa", "1.0", parties=[party("health", ["a", "b"])], effective_from=dt.date(2025, 1, 1))
    future = agreement("isa", "2.0", parties=[party("health", ["a", "b", "z"])], effective_from=dt.date(2027, 1, 1))
    scope = decide_scope([current, future], purpose=PURPOSE, day=DAY)
    assert _asked(scope) == {"health": ("isa", "1.0", frozenset({"a", "b"}))}
    assert scope.excluded == ()


def test_newest_version_allowing_a_partner_nothing_excludes_that_partner() -> None:
    """A newer version in force that gives a partner no categories narrows it to nothing: no fallback to the older version."""
    older = agreement("isa", "1.0", parties=[party("health", ["a", "b"]), party("police", ["p"])],
                      effective_from=dt.date(2025, 1, 1))
    newer = agreement("isa", "2.0", parties=[party("health", []), party("police", ["p"])],
                      effective_from=dt.date(2026, 1, 1))
    scope = decide_scope([older, newer], purpose=PURPOSE, day=DAY)
    assert _asked(scope) == {"police": ("isa", "2.0", frozenset({"p"}))}
    assert _excluded(scope) == {
        "health": "agreement isa v1.0 is superseded by v2.0; agreement isa v2.0 allows this partner no data categories"
    }


def test_partner_asked_under_one_agreement_is_not_also_excluded() -> None:
    """A partner in force under one agreement is asked, even if another agreement naming it has ended."""
    ended = agreement("old", "1.0", parties=[party("police", ["a"])], effective_to=dt.date(2025, 6, 30))
    current = agreement("new", "1.0", parties=[party("police", ["b"])], effective_from=dt.date(2025, 7, 1))
    scope = decide_scope([ended, current], purpose=PURPOSE, day=DAY)
    assert _asked(scope) == {"police": ("new", "1.0", frozenset({"b"}))}
    assert scope.excluded == ()


def test_every_reason_a_partner_is_left_out_is_given() -> None:
    """An excluded partner named by several agreements gets every reason, de-duplicated and sorted."""
    scope = decide_scope(
        [
            agreement("b-isa", "1.0", parties=[party("police", ["a"])], status="suspended"),
            agreement("a-isa", "1.0", parties=[party("police", ["a"])], effective_to=dt.date(2024, 1, 1)),
        ],
        purpose=PURPOSE,
        day=DAY,
    )
    assert _excluded(scope) == {
        "police": "agreement a-isa v1.0 ended on 2024-01-01; agreement b-isa v1.0 has status suspended"
    }


def test_party_retention_falls_back_to_agreement_retention() -> None:
    """A party's own retention period wins; without one the agreement's applies."""
    with_own = party("police", ["a"])
    without_own = dataclasses.replace(party("health", ["b"]), retention_days=0)
    scope = decide_scope([agreement("isa", parties=[with_own, without_own])], purpose=PURPOSE, day=DAY)
    retention = {s.partner_id: s.retention_days for s in scope.asked}
    assert retention == {"police": 365, "health": 730}


def test_sample_documents_ask_the_tier2_partners_and_say_why_not_the_others() -> None:
    """With the sample agreements on 2 March 2026, police/health/education are asked; housing and probation are not."""
    scope = decide_scope(load_directory(DOCUMENTS), purpose=PURPOSE, day=DAY)
    assert {s.partner_id: (s.agreement_id, s.agreement_version) for s in scope.asked} == {
        "education": ("mash-tier2", "3.0"),
        "health": ("mash-tier2", "3.0"),
        "police": ("mash-tier2", "3.0"),
    }
    assert _excluded(scope) == {
        "housing": "agreement housing-pilot v1.0 ended on 2024-12-31",
        "probation": "agreement probation-mash v1.0 takes effect on 2027-04-01",
    }


# --- request_is_covered ---------------------------------------------------------------------------


def _covered(documents: list[Agreement], **overrides: object) -> str | None:
    request: dict[str, object] = {
        "agreement_id": "isa",
        "agreement_version": "1.0",
        "partner_id": "police",
        "purpose": PURPOSE,
        "categories": ["a"],
        "day": DAY,
    }
    request.update(overrides)
    return request_is_covered(documents, **request)  # type: ignore[arg-type]


ISA = agreement("isa", "1.0", parties=[party("police", ["a", "b"])])


def test_request_within_agreement_is_covered() -> None:
    """A request for allowed categories under an agreement in force is covered."""
    assert _covered([ISA], categories=["a", "b"]) is None


def test_request_under_unknown_agreement_or_version_is_not_covered() -> None:
    """The exact agreement id and version must be known to the partner."""
    assert _covered([ISA], agreement_id="other") == "unknown agreement other v1.0"
    assert _covered([ISA], agreement_version="2.0") == "unknown agreement isa v2.0"


def test_request_under_agreement_not_in_force_is_not_covered() -> None:
    """Expired, future and suspended agreements do not cover a request."""
    assert _covered([ISA], day=dt.date(2024, 12, 31)) == "agreement isa v1.0 takes effect on 2025-01-01"
    ended = agreement("isa", "1.0", parties=[party("police", ["a"])], effective_to=dt.date(2025, 12, 31))
    assert _covered([ended]) == "agreement isa v1.0 ended on 2025-12-31"
    suspended = agreement("isa", "1.0", parties=[party("police", ["a"])], status="suspended")
    assert _covered([suspended]) == "agreement isa v1.0 has status suspended"


def test_request_for_another_purpose_is_not_covered() -> None:
    """A purpose the agreement does not list is not covered."""
    assert _covered([ISA], purpose="marketing") == "agreement isa v1.0 does not cover 'marketing'"


def test_request_to_a_non_party_is_not_covered() -> None:
    """A partner that is not a party to the agreement is not covered by it."""
    assert _covered([ISA], partner_id="health") == "health is not a party to agreement isa v1.0"


def test_request_for_categories_beyond_the_agreement_is_not_covered() -> None:
    """Categories the party may not share are listed in the reason."""
    assert _covered([ISA], categories=["a", "z", "y"]) == "categories not allowed by the agreement: y, z"


# --- properties over random agreements ------------------------------------------------------------

PARTNERS = ["p1", "p2", "p3", "p4", "p5"]
CATEGORIES = ["c1", "c2", "c3", "c4"]
PURPOSES = [PURPOSE, "adult-safeguarding", "audit"]
STATUSES = ["active", "active", "active", "suspended", "draft", "terminated"]
EPOCH = dt.date(2025, 1, 1)
SPAN = 730


@st.composite
def agreements_strategy(draw: st.DrawFn) -> list[Agreement]:
    count = draw(st.integers(min_value=0, max_value=5))
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(["a1", "a2", "a3"]), st.sampled_from(["1.0", "2.0", "3.0"])),
            min_size=count, max_size=count, unique=True,
        )
    )
    documents = []
    for agreement_id, version in keys:
        partner_ids = draw(st.lists(st.sampled_from(PARTNERS), min_size=1, max_size=4, unique=True))
        parties = [
            party(pid, draw(st.frozensets(st.sampled_from(CATEGORIES))), name=f"Name of {pid}")
            for pid in partner_ids
        ]
        start = EPOCH + dt.timedelta(days=draw(st.integers(0, SPAN)))
        end = draw(st.none() | st.integers(0, SPAN).map(lambda d, s=start: s + dt.timedelta(days=d)))
        documents.append(
            agreement(
                agreement_id,
                version,
                parties=parties,
                purposes=draw(st.frozensets(st.sampled_from(PURPOSES), min_size=1)),
                effective_from=start,
                effective_to=end,
                status=draw(st.sampled_from(STATUSES)),
            )
        )
    return documents


days = st.integers(-30, SPAN + 30).map(lambda d: EPOCH + dt.timedelta(days=d))
purposes = st.sampled_from(PURPOSES)


def _qualifying(documents: list[Agreement], partner_id: str, purpose: str, day: dt.date) -> list[Agreement]:
    return [
        a for a in documents
        if a.in_force_on(day) and purpose in a.purposes and a.party(partner_id) is not None
    ]


def _by_key(documents: list[Agreement], agreement_id: str, version: str) -> Agreement:
    (found,) = [a for a in documents if (a.agreement_id, a.version) == (agreement_id, version)]
    return found


def _in_force(documents: list[Agreement], purpose: str, day: dt.date) -> list[Agreement]:
    return [a for a in documents if a.in_force_on(day) and purpose in a.purposes]


def _version(agreement: Agreement) -> tuple[dt.date, tuple[int, ...]]:
    return agreement.effective_from, tuple(int(p) for p in agreement.version.split("."))


def _all_parties(documents: list[Agreement]) -> set[str]:
    return {p.partner_id for a in documents for p in a.parties}


@given(agreements_strategy(), purposes, days)
def test_property_only_parties_to_an_agreement_in_force_for_the_purpose_are_asked(
    documents: list[Agreement], purpose: str, day: dt.date
) -> None:
    """No partner is asked unless the agreement it is asked under is in force that day, covers the purpose and names it."""
    for scope in decide_scope(documents, purpose=purpose, day=day).asked:
        chosen = _by_key(documents, scope.agreement_id, scope.agreement_version)
        assert chosen.in_force_on(day)
        assert purpose in chosen.purposes
        assert chosen.party(scope.partner_id) is not None


@given(agreements_strategy(), purposes, days)
def test_property_categories_asked_are_allowed_by_the_chosen_agreement(
    documents: list[Agreement], purpose: str, day: dt.date
) -> None:
    """Every category asked of a partner is one its chosen agreement lets it share, and at least one is asked."""
    for scope in decide_scope(documents, purpose=purpose, day=day).asked:
        allowed = _by_key(documents, scope.agreement_id, scope.agreement_version).party(scope.partner_id)
        assert allowed is not None
        assert scope.categories
        assert scope.categories <= allowed.categories


@given(agreements_strategy(), purposes, days)
def test_property_every_party_is_asked_or_excluded_never_both(
    documents: list[Agreement], purpose: str, day: dt.date
) -> None:
    """Each party of any agreement is asked or excluded with a reason, exactly once, and nobody else appears."""
    scope = decide_scope(documents, purpose=purpose, day=day)
    asked = [s.partner_id for s in scope.asked]
    excluded = [e.partner_id for e in scope.excluded]
    assert len(asked) == len(set(asked)) and len(excluded) == len(set(excluded))
    assert not set(asked) & set(excluded)
    assert set(asked) | set(excluded) == _all_parties(documents)
    assert all(e.reason.strip() for e in scope.excluded)


@given(agreements_strategy(), purposes, days)
def test_property_the_newest_qualifying_agreement_decides(
    documents: list[Agreement], purpose: str, day: dt.date
) -> None:
    """Only the newest version of each agreement in force counts; a partner is asked under the
    newest such agreement that allows it something, and excluded when none does."""
    scope = decide_scope(documents, purpose=purpose, day=day)
    asked = {s.partner_id: s for s in scope.asked}
    for partner_id in _all_parties(documents):
        qualifying = _qualifying(documents, partner_id, purpose, day)
        in_force_versions: dict[str, Agreement] = {}
        for agreement in _in_force(documents, purpose, day):
            held = in_force_versions.get(agreement.agreement_id)
            if held is None or _version(agreement) > _version(held):
                in_force_versions[agreement.agreement_id] = agreement
        current = [a for a in in_force_versions.values() if a in qualifying]
        allowing = [a for a in current if a.party(partner_id).categories]  # type: ignore[union-attr]
        if not allowing:
            assert partner_id not in asked, (
                f"{partner_id} asked under {asked[partner_id].agreement_id} "
                f"v{asked[partner_id].agreement_version} although no current agreement allows it anything"
            )
        else:
            chosen = asked[partner_id]
            newest_from = max(a.effective_from for a in allowing)
            assert (chosen.agreement_id, chosen.agreement_version) in {
                (a.agreement_id, a.version) for a in allowing if a.effective_from == newest_from
            }


# --- the same properties through the gates ----------------------------------------------------------

wanted = st.none() | st.frozensets(st.sampled_from(CATEGORIES))


@settings(deadline=None)
@given(agreements_strategy(), purposes, days, wanted)
def test_property_gates_ask_only_partners_in_scope_for_allowed_wanted_categories(
    documents: list[Agreement], purpose: str, day: dt.date, wanted_categories: frozenset[str] | None
) -> None:
    """apply_gates asks (pending) only partners in scope, for categories allowed and wanted; every party gets one request."""
    enquiry = open_enquiry(purpose=purpose)
    apply_gates(enquiry, documents, day=day, at=T0, new_request_id=ids("req"), wanted_categories=wanted_categories)
    assert enquiry.gate_outcomes[0].gate == "consent" and enquiry.gate_outcomes[0].passed
    gated = {g.partner_id for g in enquiry.gate_outcomes if g.gate == "agreement" and g.partner_id}
    assert gated == _all_parties(documents)

    if enquiry.state is EnquiryState.REFUSED:
        assert enquiry.requests == []
        if decide_scope(documents, purpose=purpose, day=day).asked:
            assert wanted_categories is not None
            assert enquiry.refusal_reason == (
                "none of the requested data categories is allowed to any partner under an "
                f"agreement in force for {purpose!r}"
            )
        else:
            assert enquiry.refusal_reason == f"no partner is party to an agreement in force for {purpose!r}"
        assert not any(g.passed for g in enquiry.gate_outcomes if g.gate == "agreement")
        return

    assert enquiry.state is EnquiryState.DISPATCHED
    assert enquiry.dispatched_at == T0
    partner_ids = [r.partner_id for r in enquiry.requests]
    assert partner_ids == sorted(set(partner_ids))
    assert set(partner_ids) == _all_parties(documents)
    assert len({r.request_id for r in enquiry.requests}) == len(enquiry.requests)
    for request in enquiry.requests:
        assert request.status in (RequestStatus.PENDING, RequestStatus.NOT_ASKED)
        if request.status is RequestStatus.NOT_ASKED:
            assert request.reason and request.categories == ()
            continue
        assert request.agreement_id is not None and request.agreement_version is not None
        chosen = _by_key(documents, request.agreement_id, request.agreement_version)
        assert chosen.in_force_on(day) and purpose in chosen.purposes
        allowed = chosen.party(request.partner_id)
        assert allowed is not None
        assert request.categories and list(request.categories) == sorted(request.categories)
        assert set(request.categories) <= allowed.categories
        if wanted_categories is not None:
            assert set(request.categories) <= wanted_categories


@settings(deadline=None)
@given(
    agreements_strategy(),
    days,
    wanted,
    st.sampled_from(["none", "given", "override", "unapproved", "self_approved"]),
)
def test_property_refused_consent_dispatches_nothing(
    documents: list[Agreement], day: dt.date, wanted_categories: frozenset[str] | None, consent_kind: str
) -> None:
    """When the consent gate refuses, the enquiry is refused, no agreement is consulted and nobody is asked."""
    consent = {
        "none": None,
        "given": consent_given(),
        "override": consent_without(ConsentStatus.WITHDRAWN),
        "unapproved": consent_without(ConsentStatus.REFUSED, approved_by=None),
        "self_approved": consent_without(ConsentStatus.NOT_SOUGHT, approved_by="sw.jones"),
    }[consent_kind]
    enquiry = open_enquiry()
    enquiry.consent = consent
    apply_gates(enquiry, documents, day=day, at=T0, new_request_id=ids("req"), wanted_categories=wanted_categories)
    if consent_kind in ("none", "unapproved", "self_approved"):
        assert enquiry.state is EnquiryState.REFUSED
        assert enquiry.requests == [] and enquiry.dispatched_at is None
        assert [g.gate for g in enquiry.gate_outcomes] == ["consent"]
        assert enquiry.refusal_reason == enquiry.gate_outcomes[0].reason
    else:
        assert enquiry.gate_outcomes[0].passed
        assert enquiry.state in (EnquiryState.DISPATCHED, EnquiryState.REFUSED)


def test_gates_narrow_to_wanted_categories_and_exclude_partners_left_with_none() -> None:
    """With wanted categories, each partner is asked for the intersection; a partner left with none is not asked."""
    documents = [agreement("isa", parties=[party("police", ["p.a", "p.b"]), party("health", ["h.a"])])]
    enquiry = open_enquiry()
    apply_gates(enquiry, documents, day=DAY, at=T0, new_request_id=ids("req"), wanted_categories=frozenset({"p.b"}))
    by_partner = {r.partner_id: r for r in enquiry.requests}
    assert by_partner["police"].status is RequestStatus.PENDING
    assert by_partner["police"].categories == ("p.b",)
    assert by_partner["health"].status is RequestStatus.NOT_ASKED
    assert by_partner["health"].reason == "none of the requested data categories is allowed for this partner"


def test_gates_refuse_when_nobody_is_in_scope() -> None:
    """If no partner is in scope the enquiry is refused with the purpose in the reason."""
    enquiry = open_enquiry()
    apply_gates(enquiry, [agreement("isa", parties=[party("police", ["a"])], status="suspended")],
                day=DAY, at=T0, new_request_id=ids("req"))
    assert enquiry.state is EnquiryState.REFUSED
    assert enquiry.refusal_reason == f"no partner is party to an agreement in force for {PURPOSE!r}"
