"""NHS number and UPN checks, delegated to python-stdnum; messages say which and why."""

from __future__ import annotations

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength
from stdnum.gb import nhs, upn

from broker.domain.errors import InvalidIdentifier

_WHY = {
    InvalidChecksum: "its check {what} is wrong",
    InvalidLength: "it has the wrong length",
    InvalidFormat: "it has characters that are not allowed",
    InvalidComponent: "one of its parts is not valid (for a UPN: the local authority number)",
}


def _explain(error: Exception, what: str) -> str:
    for kind, template in _WHY.items():
        if isinstance(error, kind):
            return template.format(what=what)
    return "it is not valid"


def normalise_nhs_number(value: str, *, field: str = "nhs_number") -> str:
    """Return the 10-digit NHS number, or raise InvalidIdentifier naming the field."""
    try:
        return str(nhs.validate(value))
    except (InvalidChecksum, InvalidLength, InvalidFormat, InvalidComponent) as error:
        raise InvalidIdentifier(
            f"{field}: NHS number is invalid because {_explain(error, 'digit')} (mod 11)"
        ) from error


def normalise_upn(value: str, *, field: str = "upn") -> str:
    """Return the 13-character UPN, or raise InvalidIdentifier naming the field."""
    try:
        return str(upn.validate(value))
    except (InvalidChecksum, InvalidLength, InvalidFormat, InvalidComponent) as error:
        raise InvalidIdentifier(
            f"{field}: UPN is invalid because {_explain(error, 'letter')}"
        ) from error


def format_nhs_number(value: str) -> str:
    """Display form NNN NNN NNNN."""
    return str(nhs.format(value))
