"""Domain errors: each carries a message a person can act on."""


class DomainError(Exception):
    """A rule of the domain was broken."""


class InvalidIdentifier(DomainError):
    """An NHS number, UPN or other identifier fails its check."""


class InvalidSubject(DomainError):
    """A subject of an enquiry is incomplete or inconsistent."""


class InvalidConsent(DomainError):
    """A consent decision is incomplete or inconsistent."""


class IllegalTransition(DomainError):
    """The enquiry state machine does not allow this step from the current state."""


class ReplyRejected(DomainError):
    """A partner reply cannot be accepted; the reason says why."""
