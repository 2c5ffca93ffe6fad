"""Households and people: invented names, dates of birth and identifiers.

Surnames are built from syllables so that they read as English but are not
drawn from a list of real people. Given names are ordinary first names, which
identify nobody on their own.
"""

from __future__ import annotations

import datetime as dt

from adapters.synthetic import identifiers, places
from adapters.synthetic.model import Household, Person, Sex, World

_SURNAME_HEADS: list[str] = [
    "Alder",
    "Brack",
    "Cald",
    "Dun",
    "Elm",
    "Fen",
    "Gar",
    "Hal",
    "Kel",
    "Lark",
    "Mor",
    "Neth",
    "Orm",
    "Pell",
    "Quen",
    "Ros",
    "Sted",
    "Thorn",
    "Ull",
    "Wyn",
    "Yarr",
    "Brel",
    "Cobb",
    "Tams",
]
_SURNAME_TAILS: list[str] = [
    "by",
    "combe",
    "ford",
    "ley",
    "ridge",
    "well",
    "worth",
    "ton",
    "mere",
    "stead",
    "wick",
    "hurst",
    "bury",
    "den",
]
GIRLS: list[str] = [
    "Amara",
    "Bethany",
    "Chloe",
    "Darcey",
    "Ellie",
    "Freya",
    "Grace",
    "Hannah",
    "Isla",
    "Jasmine",
    "Kayla",
    "Leah",
    "Maisie",
    "Nia",
    "Olivia",
    "Poppy",
    "Ruby",
    "Sienna",
    "Tia",
    "Zoë",
    "Aaliyah",
    "Mia",
    "Lily-Mae",
    "Amelia",
]
BOYS: list[str] = [
    "Alfie",
    "Bilal",
    "Callum",
    "Dylan",
    "Ethan",
    "Finley",
    "George",
    "Harvey",
    "Isaac",
    "Jayden",
    "Kai",
    "Leo",
    "Mason",
    "Noah",
    "Oscar",
    "Reuben",
    "Samuel",
    "Tyler",
    "Zane",
    "Kacper",
    "Tomasz",
    "Yusuf",
    "Theo",
    "Arlo",
]
WOMEN: list[str] = [
    "Amy",
    "Claire",
    "Danielle",
    "Emma",
    "Gemma",
    "Hayley",
    "Jodie",
    "Kelly",
    "Laura",
    "Natalie",
    "Rachel",
    "Sarah",
    "Stacey",
    "Vicky",
    "Aneta",
    "Fatima",
    "Leanne",
    "Nicola",
    "Shauna",
    "Becky",
]
MEN: list[str] = [
    "Adam",
    "Ben",
    "Craig",
    "Daniel",
    "Gary",
    "Jamie",
    "Lee",
    "Mark",
    "Nathan",
    "Paul",
    "Ryan",
    "Scott",
    "Steven",
    "Wayne",
    "Marek",
    "Imran",
    "Dean",
    "Kieran",
    "Liam",
    "Ashley",
]


def surname(world: World) -> str:
    head = world.rng.choice(_SURNAME_HEADS)
    tail = world.rng.choice(_SURNAME_TAILS)
    return head + tail


def given_name(world: World, sex: Sex, adult: bool) -> str:
    if adult:
        return world.rng.choice(WOMEN if sex == "female" else MEN)
    return world.rng.choice(GIRLS if sex == "female" else BOYS)


def dob_for_age(world: World, years: int) -> dt.date:
    """A date of birth giving an age of exactly `years` on the reference date."""
    latest = world.today.replace(year=world.today.year - years)
    return latest - dt.timedelta(days=world.rng.randint(1, 364))


def new_household(world: World, addresses: places.AddressBook) -> Household:
    number = world.counters.next("household")
    household = Household(f"H{number:03d}", addresses.address(), addresses.postcode())
    world.cohort.households.append(household)
    return household


def new_person(
    world: World,
    household: Household,
    relationship: str,
    given: str,
    family: str,
    dob: dt.date,
    sex: Sex,
    *,
    local_case_id: str | None = None,
    schooled_elsewhere: bool = False,
) -> Person:
    """Add a person; school-age and former pupils get a UPN, everyone an NHS number."""
    person = Person(
        person_id=f"P{world.counters.next('person'):04d}",
        household_id=household.household_id,
        relationship=relationship,
        given_name=given,
        family_name=family,
        date_of_birth=dob,
        sex=sex,
        nhs_number=identifiers.nhs_number(world.rng),
        local_case_id=local_case_id,
    )
    if person.is_child:
        person.upn = _upn(world, dob, schooled_elsewhere)
    world.cohort.persons.append(person)
    return person


def local_case_id(world: World) -> str:
    return f"LCS-{104200 + world.counters.next('lcs') * 37}"


def give_pnc_id(world: World, person: Person, first_arrest: dt.date) -> str:
    """A PNC ID is created on first arrest; its year part is that year."""
    serial = 100_000 + world.counters.next("pnc") * 7919
    person.pnc_id = identifiers.pnc_id(first_arrest.year, serial)
    return person.pnc_id


def _age_at_cutoff(dob: dt.date, today: dt.date) -> int:
    """Age on 31 August before the academic year containing `today` (decides the year group)."""
    year_start = today.year if today.month >= 9 else today.year - 1
    return year_start - dob.year - ((dob.month, dob.day) > (8, 31))


def school_year(dob: dt.date, today: dt.date) -> int | None:
    """0 = Reception ... 11 = Year 11 in the academic year containing `today`."""
    group = _age_at_cutoff(dob, today) - 4
    return group if 0 <= group <= 11 else None


def phase(year: int) -> str:
    return "primary" if year <= 6 else "secondary"


def year_label(year: int) -> str:
    return "R" if year == 0 else str(year)


def _upn(world: World, dob: dt.date, schooled_elsewhere: bool) -> str | None:
    # Allocated on entry to Reception; pupils past Year 11 keep theirs.
    if _age_at_cutoff(dob, world.today) < 4:
        return None
    reception_start = dob.year + (4 if (dob.month, dob.day) <= (8, 31) else 5)
    if schooled_elsewhere:
        la, establishment = places.OTHER_UPN_LA_CODE, 2000 + world.rng.randint(1, 400)
    else:
        la = places.UPN_LA_CODE
        primaries = [s for s in places.SCHOOLS if s.phase == "primary"]
        establishment = int(world.rng.choice(primaries).code)
    serial = world.counters.next(f"upn{la}{establishment}{reception_start}")
    return identifiers.unique_pupil_number(la, establishment, reception_start, serial)
