"""The background population: ordinary households with ordinary, mostly minor records.

These make the scenario people findable among others, not alone in each system.
Rates are rough and invented, and chosen only to give a plausible mix.
"""

from __future__ import annotations

import datetime as dt

from adapters.synthetic import people
from adapters.synthetic import records as rec
from adapters.synthetic.model import Household, Person, Sex, World
from adapters.synthetic.places import AddressBook

_INCIDENTS = (
    (
        "asb",
        "Report of youths causing a nuisance outside the address; words of advice given.",
        "informant",
        False,
    ),
    (
        "theft",
        "Theft of a bicycle from the front garden reported; no suspect identified.",
        "victim",
        True,
    ),
    (
        "road_traffic",
        "Minor road traffic collision; recorded as a witness; no injuries.",
        "witness",
        False,
    ),
    (
        "criminal_damage",
        "Window at the address broken by a thrown stone; no suspect identified.",
        "victim",
        True,
    ),
    (
        "public_order",
        "Verbal dispute with a neighbour over parking; no offences disclosed.",
        "subject",
        False,
    ),
    (
        "concern_for_welfare",
        "Concern for welfare call from a relative; adult found safe and well.",
        "subject",
        False,
    ),
)
_ARRESTS = (
    ("Theft from a shop", "acquisitive", "Conditional caution", "Detained by store security."),
    (
        "Driving with excess alcohol",
        "motoring",
        "Convicted: fine and disqualification",
        "Stopped after a report of erratic driving.",
    ),
    (
        "Using threatening words or behaviour (s4 Public Order Act 1986)",
        "public_order",
        "No further action",
        "Arrested outside licensed premises.",
    ),
    (
        "Possession of a controlled drug (Class B)",
        "drugs",
        "Community resolution",
        "Found with a small amount of cannabis when searched.",
    ),
)
_CAMHS_REASONS = (
    "Anxiety affecting school attendance",
    "Persistent low mood",
    "Concerns about eating",
)
_SUSPENSIONS = (
    "Persistent disruptive behaviour in lessons.",
    "Verbal abuse towards a member of staff.",
    "Fighting with another pupil at break time.",
)
_DSL_LOW = (
    "Pupil arrived hungry on several mornings; breakfast club offered.",
    "Uniform and hygiene concerns raised by class teacher; parent spoken to.",
    "Pupil upset about arguments between relatives; offered time with learning mentor.",
)


def build(world: World, addresses: AddressBook, households: int) -> None:
    """Add random households until there are `households` in all, then their records."""
    while len(world.cohort.households) < households:
        members = _household(world, addresses)
        _police(world, members)
        for person in members:
            _health(world, person)
            _education(world, person)
    _one_child_missing_education(world)


def _household(world: World, addresses: AddressBook) -> list[Person]:
    rng = world.rng
    home = people.new_household(world, addresses)
    family = people.surname(world)
    kids = [rng.randint(0, 17) for _ in range(rng.choice((1, 1, 1, 2, 2, 2, 3)))]
    eldest = max(kids)
    shape = rng.random()
    adults: list[tuple[str, Sex, str]] = []
    if shape < 0.05:
        adults.append(("grandmother", "female", family))
    else:
        adults.append(("mother", "female", family))
        if shape > 0.50:
            # About a quarter of second adults are a partner with another surname.
            partner_family = family if rng.random() < 0.75 else people.surname(world)
            relationship = "father" if partner_family == family else "mother's partner"
            adults.append((relationship, "male", partner_family))
    members: list[Person] = []
    used: set[str] = set()
    for relationship, sex, surname in adults:
        floor = eldest + (40 if relationship == "grandmother" else 18)
        age = rng.randint(max(floor, 20), max(floor, 20) + 14)
        members.append(_person(world, home, relationship, sex, surname, age, used, adult=True))
    for index, age in enumerate(sorted(kids, reverse=True)):
        child_sex: Sex = rng.choice(("female", "male"))
        relationship = "child" if index == 0 else "sibling"
        members.append(
            _person(world, home, relationship, child_sex, family, age, used, adult=False)
        )
    return members


def _person(
    world: World,
    home: Household,
    relationship: str,
    sex: Sex,
    family: str,
    age: int,
    used: set[str],
    *,
    adult: bool,
) -> Person:
    given = people.given_name(world, sex, adult)
    while given in used:  # no two members of a household share a first name
        given = people.given_name(world, sex, adult)
    used.add(given)
    dob = people.dob_for_age(world, age)
    return people.new_person(world, home, relationship, given, family, dob, sex)


def _police(world: World, members: list[Person]) -> None:
    rng, ago = world.rng, world.days_ago
    adults = [p for p in members if not p.is_child]
    children = [p for p in members if p.is_child]
    if rng.random() < 0.25:
        kind, summary, role, crime = rng.choice(_INCIDENTS)
        rec.incident(
            world,
            ago(rng.randint(30, 1800)),
            kind,
            summary,
            [(rng.choice(adults), role)],
            crime=crime,
        )
    woman = next((p for p in adults if p.sex == "female"), None)
    man = next((p for p in adults if p.sex == "male"), None)
    if woman and man and rng.random() < 0.15:
        when = ago(rng.randint(500, 1500))
        present = [(c, "child_present") for c in children if c.date_of_birth < when]
        rec.domestic(
            world,
            when,
            "standard",
            "Verbal argument between adults; both spoken to; no injuries or offences disclosed.",
            "DASH standard risk: no previous incidents, no injuries.",
            [(woman, "victim"), (man, "suspect"), *present],
        )
    for adult in adults:
        if rng.random() < 0.08:
            offence, group, outcome, summary = rng.choice(_ARRESTS)
            adulthood = adult.date_of_birth.replace(year=adult.date_of_birth.year + 18)
            when = max(ago(rng.randint(1200, 4000)), adulthood)
            people.give_pnc_id(world, adult, when)
            rec.arrest(world, adult, when, offence, group, outcome, summary)
    for child in children:
        if 13 <= _age(world, child) <= 17 and rng.random() < 0.12:
            rec.missing(
                world,
                child,
                ago(rng.randint(400, 900)),
                rng.randint(3, 12),
                "low",
                "Did not return home by agreed time; found at a friend's house.",
            )


def _health(world: World, person: Person) -> None:
    rng, ago = world.rng, world.days_ago
    if rng.random() >= 0.88:
        return
    born = person.date_of_birth
    joined = (
        born + dt.timedelta(days=rng.randint(5, 30))
        if person.is_child
        else ago(rng.randint(200, 6000))
    )
    gp = rec.registration(world, person, joined)
    if person.is_child and _age(world, person) < 5:
        for days, label in (
            (12, "New birth visit"),
            (49, "6 to 8 week review"),
            (300, "9 to 12 month review"),
            (800, "2 to 2.5 year review"),
        ):
            when = born + dt.timedelta(days=days)
            if when < world.today:
                rec.hv(world, gp, when, label, attended=rng.random() < 0.92)
    if rng.random() < 0.2:
        injury = rng.random() < 0.4
        reason = (
            "Minor head injury after a fall; observed and discharged."
            if injury
            else "Abdominal pain; examined and discharged with advice."
        )
        when = max(ago(rng.randint(20, 1000)), joined)
        rec.ae(world, gp, when, "injury" if injury else "illness", reason)
    if person.is_child and _age(world, person) >= 12 and rng.random() < 0.12:
        when = ago(rng.randint(60, 700))
        accepted: dt.date | None = when + dt.timedelta(days=56)
        if rng.random() >= 0.6 or accepted >= world.today:
            accepted = None  # still waiting for assessment
        rec.camhs(
            world,
            gp,
            when,
            rng.choice(_CAMHS_REASONS),
            rng.choice(("GP", "School nurse")),
            accepted,
        )


def _education(world: World, person: Person) -> None:
    rng, ago = world.rng, world.days_ago
    year = people.school_year(person.date_of_birth, world.today)
    if not person.is_child or year is None or rng.random() >= 0.97:
        return
    attendance = round(min(100.0, max(60.0, rng.gauss(94.5, 4.5))), 1)
    pupil = rec.pupil(world, person, attendance)
    draw = rng.random()
    if draw < 0.15:
        pupil.sen_provision = "E" if draw < 0.03 else "K"
        pupil.sen_since = max(ago(rng.randint(100, 1500)), pupil.on_roll_since)
    if year >= 7 and rng.random() < 0.08:
        rec.school_event(
            world,
            pupil,
            "suspension",
            ago(rng.randint(20, 400)),
            rng.choice(_SUSPENSIONS),
            days=rng.randint(1, 3),
        )
    if rng.random() < 0.06:
        rec.school_event(
            world,
            pupil,
            "dsl_concern",
            ago(rng.randint(20, 600)),
            rng.choice(_DSL_LOW),
            severity="low",
        )


def _one_child_missing_education(world: World) -> None:
    """One background secondary pupil has left the roll with no known destination."""
    scenario_ids = set(world.cohort.scenarios.values())
    candidates = [
        p
        for p in world.cohort.education
        if p.person_id not in scenario_ids and not p.year_group.isalpha() and int(p.year_group) >= 8
    ]
    if candidates:
        pupil = world.rng.choice(candidates)
        pupil.attendance_pct = 41.0
        pupil.cme_since = world.days_ago(55)


def _age(world: World, person: Person) -> int:
    dob, today = person.date_of_birth, world.today
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
