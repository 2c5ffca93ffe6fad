"""The Contact aggregate: what comes in at the MASH front door, and its state machine.

    received ──> routed_to_allocated_worker          (the child already has a social worker:
                                                      the contact goes to them, no enquiry)
    received ──> awaiting_sanction ──> screened      (officer proposes, manager sanctions)
    received ──────────────────────> screened        (a manager screens it directly)
    screened ──> closed_universal                    (blue: universal-services advice, decided)
    screened ──> enquiry_opened ──> decided          (green, amber, red: multi-agency enquiry)
    screened ──> decided                             (decided from screening, e.g. NFA)

The referrer's identity is confidential from the family (golden rule 5, MASH.md §2.2): it is
kept with the contact and never enters an enquiry, a summary or any view made from them.
The rating can change at any time before the decision (`rerate`, with a reason); every change
recomputes the due time (MASH.md §1.3).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field

from broker.domain.brag import Brag
from broker.domain.consent import ConsentDecision
from broker.domain.errors import DomainError, IllegalTransition
from broker.domain.screening import BragProposal, InvalidScreening, Rerating, Sanction
from broker.domain.subject import Subject, check_household
from broker.domain.timescales import Due

MAX_REASON = 4000
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ()-]{6,24}$")


class InvalidContact(DomainError):
    """A contact is incomplete or inconsistent; the message says which part."""


class ContactConflict(IllegalTransition):
    """The contact's state does not allow this step now (answered 409, with the state)."""


class ContactState(str, enum.Enum):
    RECEIVED = "received"
    ROUTED_TO_ALLOCATED_WORKER = "routed_to_allocated_worker"
    AWAITING_SANCTION = "awaiting_sanction"
    SCREENED = "screened"
    CLOSED_UNIVERSAL = "closed_universal"
    ENQUIRY_OPENED = "enquiry_opened"
    DECIDED = "decided"


TRANSITIONS: dict[ContactState, frozenset[ContactState]] = {
    ContactState.RECEIVED: frozenset({
        ContactState.ROUTED_TO_ALLOCATED_WORKER, ContactState.AWAITING_SANCTION, ContactState.SCREENED,
    }),
    ContactState.AWAITING_SANCTION: frozenset({ContactState.SCREENED}),
    ContactState.SCREENED: frozenset({
        ContactState.CLOSED_UNIVERSAL, ContactState.ENQUIRY_OPENED, ContactState.DECIDED,
    }),
    ContactState.ENQUIRY_OPENED: frozenset({ContactState.DECIDED}),
    ContactState.ROUTED_TO_ALLOCATED_WORKER: frozenset(),
    ContactState.CLOSED_UNIVERSAL: frozenset(),
    ContactState.DECIDED: frozenset(),
}

# States in which the front door's clock no longer runs.
FINISHED = frozenset({ContactState.ROUTED_TO_ALLOCATED_WORKER, ContactState.CLOSED_UNIVERSAL, ContactState.DECIDED})
# States in which the rating may still change (MASH.md §1.1: "the rating may change at any time").
RERATABLE = frozenset({ContactState.SCREENED, ContactState.ENQUIRY_OPENED})


@dataclass(frozen=True, slots=True)
class Referrer:
    """Who made the contact. Confidential from the family; never leaves the MASH."""

    name: str
    role: str
    organisation: str
    phone: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        for name in ("name", "role", "organisation"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidContact(f"referrer.{name} is required")
            object.__setattr__(self, name, value.strip())
        if not (self.phone or self.email):
            raise InvalidContact("referrer: give a phone number or an email address, so the "
                                 "referrer can be told the outcome")
        if self.phone is not None and not _PHONE.match(self.phone):
            raise InvalidContact("referrer.phone is not a phone number")
        if self.email is not None and not _EMAIL.match(self.email):
            raise InvalidContact("referrer.email is not an email address")


@dataclass(frozen=True, slots=True)
class AllocatedWorker:
    """A social worker the case system says is allocated to the child now."""

    worker_id: str
    worker_name: str
    team: str
    case_id: str | None
    subject_ref: str
    matched_by: str  # nhs_number | upn | local_case_id | name_dob_postcode


@dataclass(frozen=True, slots=True)
class ConsentCheck:
    """The consent gate run again when an enquiry is opened from the contact, as recorded then."""

    at: dt.datetime
    by: str
    passed: bool
    reason: str
    consent: ConsentDecision | None
    enquiry_id: str | None


@dataclass(slots=True)
class Contact:
    """A contact about one child (and household), from receipt to the decision."""

    contact_id: str
    authority: str
    received_at: dt.datetime
    recorded_at: dt.datetime
    recorded_by: str
    referrer: Referrer
    reason: str
    subjects: tuple[Subject, ...]
    consent: ConsentDecision | None = None  # as the referrer reported it, if known
    state: ContactState = ContactState.RECEIVED
    allocated_worker: AllocatedWorker | None = None
    proposal: BragProposal | None = None
    sanction: Sanction | None = None
    reratings: list[Rerating] = field(default_factory=list)
    brag: Brag | None = None
    due: Due | None = None
    universal_advice: str | None = None
    closed_at: dt.datetime | None = None
    closed_by: str | None = None
    enquiry_id: str | None = None
    enquiry_opened_at: dt.datetime | None = None
    consent_checks: list[ConsentCheck] = field(default_factory=list)
    decision_id: str | None = None
    decided_at: dt.datetime | None = None

    @classmethod
    def receive(
        cls, *, contact_id: str, authority: str, received_at: dt.datetime, recorded_at: dt.datetime,
        recorded_by: str, referrer: Referrer, reason: str, subjects: tuple[Subject, ...],
        consent: ConsentDecision | None = None,
    ) -> Contact:
        """A new contact, checked: one child, identifiable subjects, a reason, a sane receipt time."""
        if received_at.tzinfo is None or recorded_at.tzinfo is None:
            raise InvalidContact("received_at must carry a time zone")
        if received_at > recorded_at + dt.timedelta(minutes=5):
            raise InvalidContact("received_at is in the future")
        if recorded_at - received_at > dt.timedelta(days=31):
            raise InvalidContact("received_at is more than 31 days ago; record the contact when it arrives")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidContact("reason for the contact is required")
        if len(reason) > MAX_REASON:
            raise InvalidContact(f"reason is longer than {MAX_REASON} characters")
        check_household(subjects, today=received_at.date())
        return cls(
            contact_id=contact_id, authority=authority, received_at=received_at, recorded_at=recorded_at,
            recorded_by=recorded_by, referrer=referrer, reason=reason.strip(), subjects=subjects,
            consent=consent,
        )

    @property
    def child(self) -> Subject:
        return next(s for s in self.subjects if s.role == "child")

    def _move(self, to: ContactState, doing: str) -> None:
        if to not in TRANSITIONS[self.state]:
            raise ContactConflict(f"contact {self.contact_id} is {self.state.value}: cannot {doing}")
        self.state = to

    def route_to_allocated_worker(self, worker: AllocatedWorker) -> None:
        """The child has a social worker: the contact is theirs; the MASH does not research it."""
        self._move(ContactState.ROUTED_TO_ALLOCATED_WORKER, "route it to an allocated worker")
        self.allocated_worker = worker

    def propose(self, proposal: BragProposal) -> None:
        """A screening officer proposes a rating, with the Signs of Safety rationale."""
        self._move(ContactState.AWAITING_SANCTION, "propose a rating")
        self.proposal = proposal

    def sanction_rating(self, sanction: Sanction, due: Due | None) -> Rerating | None:
        """The manager confirms a rating; returns the re-rating recorded when it differs from
        the proposal. Four eyes: whoever proposed cannot sanction their own proposal."""
        if self.state is ContactState.RECEIVED:
            if sanction.rationale is None:
                raise InvalidScreening("screening without an officer's proposal needs the manager's "
                                       "own Signs of Safety rationale")
            self._move(ContactState.SCREENED, "sanction a rating")
            self.sanction, self.brag, self.due = sanction, sanction.brag, due
            return None
        if self.state is not ContactState.AWAITING_SANCTION or self.proposal is None:
            raise ContactConflict(f"contact {self.contact_id} is {self.state.value}: cannot sanction a rating")
        if sanction.sanctioned_by == self.proposal.proposed_by:
            raise ContactConflict("the person who proposed the rating cannot sanction it (four eyes)")
        rerating = None
        if sanction.brag is not self.proposal.brag:
            if not sanction.reason:
                raise InvalidScreening(
                    f"sanctioning {sanction.brag.value} instead of the proposed "
                    f"{self.proposal.brag.value} is a re-rating and needs a reason"
                )
            rerating = Rerating(self.proposal.brag, sanction.brag, sanction.reason,
                                sanction.sanctioned_by, sanction.sanctioned_at)
            self.reratings.append(rerating)
        self._move(ContactState.SCREENED, "sanction a rating")
        self.sanction, self.brag, self.due = sanction, sanction.brag, due
        return rerating

    def rerate(self, rerating: Rerating, due: Due | None) -> None:
        """Change the sanctioned rating, with a reason; the due time is recomputed by the caller."""
        if self.state not in RERATABLE:
            raise ContactConflict(f"contact {self.contact_id} is {self.state.value}: its rating can no longer change")
        if rerating.from_brag is not self.brag:
            raise ContactConflict(
                f"the contact is rated {self.brag.value if self.brag else 'nothing'}, "
                f"not {rerating.from_brag.value}: reload and try again"
            )
        self.reratings.append(rerating)
        self.brag, self.due = rerating.to_brag, due

    def close_universal(self, advice: str, by: str, at: dt.datetime, decision_id: str) -> None:
        """Blue: close with universal-services advice (no enquiry)."""
        if self.state is ContactState.SCREENED and self.brag is not Brag.BLUE:
            raise ContactConflict(
                f"contact {self.contact_id} is rated {self.brag.value if self.brag else 'nothing'}: only a "
                "blue contact closes with universal-services advice (re-rate it first, with a reason)"
            )
        if not isinstance(advice, str) or not advice.strip():
            raise InvalidContact("universal-services advice is required to close a blue contact")
        self._move(ContactState.CLOSED_UNIVERSAL, "close it with universal-services advice")
        self.universal_advice, self.closed_by, self.closed_at = advice.strip(), by, at
        self.decision_id, self.decided_at = decision_id, at

    def may_open_enquiry(self) -> None:
        """Raise unless an enquiry may be opened from this contact now."""
        if self.state is ContactState.ROUTED_TO_ALLOCATED_WORKER:
            raise ContactConflict(
                f"contact {self.contact_id} went to the allocated social worker: no MASH enquiry is opened"
            )
        if self.state is not ContactState.SCREENED:
            raise ContactConflict(f"contact {self.contact_id} is {self.state.value}: only a screened "
                                  "contact can go to an enquiry")
        if self.brag is Brag.BLUE:
            raise ContactConflict("a blue contact closes with universal-services advice; re-rate it "
                                  "(with a reason) to open an enquiry")

    def record_consent_check(self, check: ConsentCheck) -> None:
        self.consent_checks.append(check)

    def link_enquiry(self, enquiry_id: str, at: dt.datetime) -> None:
        self.may_open_enquiry()
        self._move(ContactState.ENQUIRY_OPENED, "open an enquiry")
        self.enquiry_id, self.enquiry_opened_at = enquiry_id, at

    def decide(self, decision_id: str, at: dt.datetime) -> None:
        """The manager's decision is recorded (the Decision itself is a separate record)."""
        if self.state is ContactState.SCREENED and self.brag is Brag.BLUE:
            raise ContactConflict("a blue contact is closed with universal-services advice (POST .../close)")
        self._move(ContactState.DECIDED, "record a decision")
        self.decision_id, self.decided_at = decision_id, at

    def overdue(self, now: dt.datetime) -> bool:
        """Still open at the front door past its due time."""
        return self.state not in FINISHED and self.due is not None and now > self.due.at

    def finished_at(self) -> dt.datetime | None:
        return self.decided_at or self.closed_at

    def met_timescale(self) -> bool | None:
        """Decided (or closed) by the due time? None while open or with no target."""
        done = self.finished_at()
        if done is None or self.due is None:
            return None
        return done <= self.due.at
