"""The people an enquiry is about: the child and the household members."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from broker.domain.errors import InvalidSubject
from broker.domain.identifiers import normalise_nhs_number, normalise_upn

Role = Literal["child", "household_member"]
Sex = Literal["female", "male", "other", "unknown"]

# UK postcode shape (outward + inward code); not a lookup of real postcodes.
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class Subject:
    """One person the enquiry asks partners about."""

    subject_ref: str
    role: Role
    given_name: str
    family_name: str
    date_of_birth: dt.date | None = None
    sex: Sex = "unknown"
    relationship: str | None = None
    address: str | None = None
    postcode: str | None = None
    nhs_number: str | None = None
    upn: str | None = None
    local_case_id: str | None = None

    @classmethod
    def create(cls, **fields: object) -> Subject:
        """Build a subject, checking identifiers and shape; raise with a precise message."""
        ref = fields.get("subject_ref")
        where = f"subject {ref}" if ref else "subject"
        nhs_number = fields.get("nhs_number")
        if nhs_number:
            fields["nhs_number"] = normalise_nhs_number(str(nhs_number), field=f"{where}: nhs_number")
        upn = fields.get("upn")
        if upn:
            fields["upn"] = normalise_upn(str(upn).upper(), field=f"{where}: upn")
        postcode = fields.get("postcode")
        if postcode:
            canonical = " ".join(str(postcode).upper().split())
            if not _POSTCODE.match(canonical):
                raise InvalidSubject(f"{where}: postcode {canonical!r} is not a UK postcode")
            fields["postcode"] = canonical
        subject = cls(**fields)  # type: ignore[arg-type]
        subject.check(today=None)
        return subject

    def check(self, *, today: dt.date | None) -> None:
        """Raise InvalidSubject when the subject cannot be searched for."""
        where = f"subject {self.subject_ref}"
        if not self.given_name.strip() or not self.family_name.strip():
            raise InvalidSubject(f"{where}: given_name and family_name are required")
        if today is not None and self.date_of_birth is not None and self.date_of_birth > today:
            raise InvalidSubject(f"{where}: date_of_birth is in the future")
        has_identifier = any((self.nhs_number, self.upn, self.local_case_id))
        has_demographics = self.date_of_birth is not None and bool(self.postcode)
        if not has_identifier and not has_demographics:
            raise InvalidSubject(
                f"{where}: give an identifier (NHS number, UPN or local case id) or a date of "
                "birth and postcode, otherwise partners cannot match records safely"
            )


def check_household(subjects: tuple[Subject, ...], *, today: dt.date) -> None:
    """The enquiry is about exactly one child, with unique subject refs."""
    if not subjects:
        raise InvalidSubject("an enquiry needs at least one subject")
    refs = [s.subject_ref for s in subjects]
    if len(set(refs)) != len(refs):
        raise InvalidSubject("subject_ref values must be unique within an enquiry")
    children = [s for s in subjects if s.role == "child"]
    if len(children) != 1:
        raise InvalidSubject(
            f"an enquiry is about exactly one child (role 'child'); {len(children)} given"
        )
    for subject in subjects:
        subject.check(today=today)
