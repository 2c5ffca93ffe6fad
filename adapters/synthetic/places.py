"""The invented borough of Quillsby: its streets, postcodes and organisations.

Everything here is made up. Postcodes use the area "QY". Q never starts a real UK
postcode, so none of these can be a real address, though the shape looks real.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TOWN = "Quillsby"
LOCAL_AUTHORITY = "Quillsby Borough Council Children's Services"

# A real LA number is needed for UPNs to validate (the code must be a known LA);
# the establishment numbers below are invented.
UPN_LA_CODE = 931
# Children who started school elsewhere carry UPNs issued by another LA.
OTHER_UPN_LA_CODE = 352

STREETS = (
    "Larkspur Close",
    "Quennell Road",
    "Brindlemere Way",
    "Fallowfield Drive",
    "Tansy Lane",
    "Osier Walk",
    "Cobbet Street",
    "Wrenfold Avenue",
    "Hatherby Road",
    "Millrace Court",
    "Pennyroyal Grove",
    "Sallowmead",
    "Kestrel Rise",
    "Dunmoor Crescent",
    "Ember Row",
    "Quarrendon Street",
    "Teasel Gardens",
    "Yarrowby Road",
    "Nettlecombe Close",
    "Gallowfield Terrace",
    "Ashbeck Lane",
    "Cinderhill Way",
    "Mossop Street",
    "Thistlemere Road",
)

# Unit letters in the inward code skip C, I, K, M, O and V, as in real postcodes.
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True)
class School:
    code: str  # invented establishment number, also used inside UPNs
    urn: str
    name: str
    phase: str  # primary | secondary


SCHOOLS = (
    School("2014", "149014", "Quillsby Brook Primary School", "primary"),
    School("3031", "149031", "St Aldric's CE Primary School", "primary"),
    School("4006", "149406", "Fenmere Academy", "secondary"),
    School("4012", "149412", "Quillsby Vale School", "secondary"),
)


@dataclass(frozen=True)
class Organisation:
    code: str  # invented ODS-style code
    name: str


GP_PRACTICES = (
    Organisation("Q99001", "Brookside Surgery"),
    Organisation("Q99002", "Fenmere Medical Centre"),
    Organisation("Q99003", "Ashbeck Lane Health Centre"),
)
EMERGENCY_DEPARTMENT = Organisation("QYH01", "Quillsby General Hospital Emergency Department")
HEALTH_VISITING = Organisation("QYC10", "Quillsby 0-19 Health Visiting Service")
CAMHS = Organisation("QYC20", "Quillsby CAMHS")
CHILDRENS_SERVICES = Organisation("QYLA1", LOCAL_AUTHORITY)


def school(code: str) -> School:
    return next(s for s in SCHOOLS if s.code == code)


class AddressBook:
    """Hands out unique invented addresses and postcodes."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used_postcodes: set[str] = set()
        self._used_addresses: set[str] = set()

    def postcode(self) -> str:
        while True:
            district = self._rng.randint(1, 9)
            unit = "".join(self._rng.choice(_INWARD_LETTERS) for _ in range(2))
            code = f"QY{district} {self._rng.randint(1, 9)}{unit}"
            if code not in self._used_postcodes:
                self._used_postcodes.add(code)
                return code

    def address(self) -> str:
        while True:
            street = self._rng.choice(STREETS)
            line = f"{self._rng.randint(1, 140)} {street}, {TOWN}"
            if line not in self._used_addresses:
                self._used_addresses.add(line)
                return line
