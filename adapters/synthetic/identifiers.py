"""Valid-but-synthetic identifiers: NHS numbers, UPNs and PNC IDs.

Check digits follow the algorithms in the domain brief (section 4.1). Every NHS
number starts with 999: that range is kept for test data and never issued to a
patient, so no number here can belong to a real person.
"""

from __future__ import annotations

import random

from stdnum.gb import nhs, upn

# PNC check letters: 23 letters, I, O and S never used (domain brief 4.1; unverified).
_PNC_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def nhs_number(rng: random.Random) -> str:
    """A mod-11-valid NHS number in the 999 test range."""
    while True:
        body = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        total = sum(int(d) * w for d, w in zip(body, range(10, 1, -1), strict=True))
        check = 11 - total % 11
        if check == 10:  # no valid check digit exists for this body: draw again
            continue
        number = body + str(0 if check == 11 else check)
        assert nhs.is_valid(number)
        return number


def unique_pupil_number(la_code: int, establishment: int, year: int, serial: int) -> str:
    """A permanent UPN: check letter + LA (3) + establishment (4) + year (2) + serial (3)."""
    body = f"{la_code:03d}{establishment:04d}{year % 100:02d}{serial:03d}"
    number = upn.calc_check_digit(body) + body
    assert upn.is_valid(number)
    return number


def pnc_id(year: int, serial: int) -> str:
    """A PNC ID in display form YY/NNNNNNND (check letter per the unverified rule)."""
    digits = f"{year % 100:02d}{serial:07d}"
    remainder = int(digits) % 23
    letter = "Z" if remainder == 0 else _PNC_LETTERS[remainder - 1]
    return f"{digits[:2]}/{digits[2:]}{letter}"
