"""Hand-written households whose outcomes tests and the demo rely on.

Each scenario child is named in `cohort.json` under `scenarios`. Whole households
are built to the scenario (e.g. nobody in the police-only household is known to
health or education), so an enquiry about the child *and* household gets the
same outcome per partner as one about the child alone.
"""

from __future__ import annotations

import datetime as dt

from adapters.synthetic import records as rec
from adapters.synthetic.model import Person, World
from adapters.synthetic.people import (
    dob_for_age,
    give_pnc_id,
    local_case_id,
    new_household,
    new_person,
)
from adapters.synthetic.places import AddressBook

NOTES = {
    "all_sources_high_risk": (
        "Known to all three partners with serious concerns. Police hold a high-risk DASH "
        "assessment (child present), a MARAC referral and earlier domestic incidents. "
        "Health holds an active CP-IS flag and a recent A&E attendance for injury. "
        "Education holds low attendance and DSL concerns. Each partner rates red."
    ),
    "police_only": (
        "A 16-year-old known only to police: recent missing episodes, an arrest and "
        "exploitation intelligence (owner approval). Health and education: no trace."
    ),
    "health_only": (
        "A baby known only to health: GP registration, health visiting (one contact "
        "not brought) and an A&E attendance for illness. Police and education: no trace."
    ),
    "education_only": (
        "A primary pupil known only to education: persistent absence, SEN support, a "
        "suspension and a low-level DSL concern. Police and health: no trace."
    ),
    "no_trace": "A newly arrived family unknown to every partner: all three answer no_trace.",
    "name_match_only": (
        "Health and education records carry no NHS number or UPN (temporary GP "
        "registration; UPN not yet received from the last school) and the school spells "
        "the surname without its apostrophe. Both match on name + DOB + postcode at "
        "confidence 0.85, never 1.0."
    ),
    "postcode_mismatch": (
        "The family moved two months ago. The GP record still has the old postcode but "
        "carries the NHS number, so health matches by identifier (1.0). The school "
        "record has the old postcode and no UPN, so name + DOB alone does not match: "
        "education answers no_trace. That is the documented trade-off."
    ),
}


def build(world: World, addresses: AddressBook) -> None:
    """Add every scenario household and record the scenario child ids."""
    chosen = world.cohort.scenarios
    chosen["all_sources_high_risk"] = _all_sources_high_risk(world, addresses)
    chosen["police_only"] = _police_only(world, addresses)
    chosen["health_only"] = _health_only(world, addresses)
    chosen["education_only"] = _education_only(world, addresses)
    chosen["no_trace"] = _no_trace(world, addresses)
    chosen["name_match_only"] = _name_match_only(world, addresses)
    chosen["postcode_mismatch"] = _postcode_mismatch(world, addresses)
    world.cohort.scenario_notes.update(NOTES)


def _all_sources_high_risk(world: World, addresses: AddressBook) -> str:
    home = new_household(world, addresses)
    ago = world.days_ago
    mother = new_person(
        world, home, "mother", "Kelly", "Ormstead", dob_for_age(world, 31), "female"
    )
    partner = new_person(
        world, home, "mother's partner", "Wayne", "Dunmere", dob_for_age(world, 34), "male"
    )
    child = new_person(
        world,
        home,
        "child",
        "Ruby",
        "Ormstead",
        dob_for_age(world, 8),
        "female",
        local_case_id=local_case_id(world),
    )
    sibling = new_person(
        world,
        home,
        "sibling",
        "Leo",
        "Dunmere",
        dob_for_age(world, 2),
        "male",
        local_case_id=local_case_id(world),
    )
    give_pnc_id(world, partner, ago(2300))

    # Police: escalating domestic abuse, then MARAC.
    rec.domestic(
        world,
        ago(400),
        "standard",
        "Verbal argument between adults reported by neighbour; no injuries; child in bedroom.",
        "DASH standard risk: first reported incident, no injuries.",
        [(mother, "victim"), (partner, "suspect"), (child, "child_present")],
    )
    rec.domestic(
        world,
        ago(190),
        "medium",
        "Victim pushed against wall during argument; minor injury to arm; child present.",
        "DASH medium risk: escalation in frequency, victim frightened of further harm.",
        [(mother, "victim"), (partner, "suspect"), (child, "child_present")],
    )
    high = rec.domestic(
        world,
        ago(78),
        "high",
        "999 call from neighbour reporting screaming. Victim had facial injury and reported "
        "being strangled. Two children present in the house.",
        "DASH high risk: non-fatal strangulation, escalation, separation being considered.",
        [
            (mother, "victim"),
            (partner, "suspect"),
            (child, "child_present"),
            (sibling, "child_present"),
        ],
    )
    rec.arrest(
        world,
        partner,
        high.occurred_on,
        "Assault occasioning actual bodily harm (s47 OAPA 1861)",
        "violence",
        "Charged; remanded then bailed with conditions not to contact victim",
        "Arrested at the address following the domestic incident the same evening.",
    )
    rec.arrest(
        world,
        partner,
        ago(2300),
        "Possession of a controlled drug (Class B)",
        "drugs",
        "Community resolution",
        "Found in possession of cannabis during a vehicle stop.",
    )
    rec.marac(
        world,
        ago(70),
        "High-risk DASH assessment (non-fatal strangulation)",
        "Referred to MARAC; IDVA allocated; safety plan with target-hardening at the address.",
        [(mother, "victim"), (partner, "perpetrator"), (child, "child"), (sibling, "child")],
    )
    rec.incident(
        world,
        ago(25),
        "concern_for_welfare",
        "Child found alone on the street outside the address at 21:40 and returned home; "
        "adult at home said to be asleep.",
        [(child, "subject"), (mother, "informant")],
    )

    # Health: both children on child protection plans since the initial conference.
    plan_start = ago(40)
    child_gp = rec.registration(world, child, child.date_of_birth + dt.timedelta(days=20))
    rec.cpis(world, child_gp, "CPP", plan_start)
    rec.ae(
        world,
        child_gp,
        ago(30),
        "injury",
        "Bruising to left forearm and cheek; account given was a fall from a bunk bed.",
        safeguarding=True,
    )
    rec.ae(world, child_gp, ago(240), "illness", "Asthma exacerbation; treated and discharged.")
    sibling_gp = rec.registration(world, sibling, sibling.date_of_birth + dt.timedelta(days=15))
    rec.cpis(world, sibling_gp, "CPP", plan_start)
    rec.hv(world, sibling_gp, ago(120), "2 to 2.5 year review", attended=False)
    rec.hv(world, sibling_gp, ago(100), "2 to 2.5 year review (rebooked)", attended=True)
    mother_gp = rec.registration(world, mother, ago(4000))
    rec.ae(
        world,
        mother_gp,
        ago(78),
        "injury",
        "Facial bruising and neck pain following reported assault; police in attendance.",
        safeguarding=True,
    )
    rec.registration(world, partner, ago(2800))

    # Education: the child's school.
    pupil = rec.pupil(world, child, 71.3, school_code="2014")
    rec.school_event(
        world,
        pupil,
        "dsl_concern",
        ago(60),
        "Pupil said adults at home shout and she hides in her room; DSL informed; "
        "parent spoken to.",
        severity="medium",
    )
    rec.school_event(
        world,
        pupil,
        "dsl_concern",
        ago(29),
        "Bruising seen on forearm; pupil's account inconsistent; DSL referred to children's "
        "social care the same day.",
        severity="high",
    )
    return child.person_id


def _police_only(world: World, addresses: AddressBook) -> str:
    home = new_household(world, addresses)
    ago = world.days_ago
    new_person(world, home, "mother", "Stacey", "Pellworth", dob_for_age(world, 41), "female")
    child = new_person(
        world,
        home,
        "child",
        "Kai",
        "Pellworth",
        dob_for_age(world, 16),
        "male",
        local_case_id=local_case_id(world),
        schooled_elsewhere=True,
    )
    give_pnc_id(world, child, ago(60))
    rec.missing(
        world,
        child,
        ago(150),
        26,
        "medium",
        "Reported missing by parent; found in another town with older males.",
    )
    rec.missing(
        world,
        child,
        ago(95),
        14,
        "medium",
        "Missing overnight; returned home; declined return home interview.",
    )
    rec.missing(
        world,
        child,
        ago(21),
        40,
        "high",
        "Missing two nights; located at an address linked to drug supply.",
    )
    rec.arrest(
        world,
        child,
        ago(60),
        "Possession with intent to supply a Class A drug",
        "drugs",
        "Released under investigation",
        "Stopped on foot; found with wraps and cash.",
    )
    rec.incident(
        world,
        ago(40),
        "intelligence",
        "Intelligence indicates the subject is running drugs for a county lines group.",
        [(child, "subject")],
        intelligence=True,
    )
    return child.person_id


def _health_only(world: World, addresses: AddressBook) -> str:
    home = new_household(world, addresses)
    ago = world.days_ago
    mother = new_person(world, home, "mother", "Jodie", "Wynmere", dob_for_age(world, 23), "female")
    baby = new_person(world, home, "child", "Isla", "Wynmere", world.days_ago(215), "female")
    gp = rec.registration(world, baby, baby.date_of_birth + dt.timedelta(days=10))
    rec.hv(world, gp, baby.date_of_birth + dt.timedelta(days=12), "New birth visit", attended=True)
    rec.hv(
        world, gp, baby.date_of_birth + dt.timedelta(days=49), "6 to 8 week review", attended=True
    )
    rec.hv(world, gp, ago(95), "3 to 4 month contact", attended=False)
    rec.ae(world, gp, ago(45), "illness", "Fever and poor feeding; observed and discharged.")
    rec.registration(world, mother, ago(3000))
    return baby.person_id


def _education_only(world: World, addresses: AddressBook) -> str:
    home = new_household(world, addresses)
    ago = world.days_ago
    new_person(world, home, "father", "Marek", "Calderby", dob_for_age(world, 44), "male")
    child = new_person(world, home, "child", "Tomasz", "Calderby", dob_for_age(world, 9), "male")
    pupil = rec.pupil(world, child, 86.2, school_code="3031")
    pupil.sen_provision, pupil.sen_since = "K", ago(420)
    rec.school_event(
        world,
        pupil,
        "suspension",
        ago(35),
        "One-day suspension for physical aggression towards another pupil.",
        days=1,
    )
    rec.school_event(
        world,
        pupil,
        "dsl_concern",
        ago(400),
        "Often late and tired; parent spoken to about routines.",
        severity="low",
    )
    return child.person_id


def _no_trace(world: World, addresses: AddressBook) -> str:
    home = new_household(world, addresses)
    new_person(world, home, "mother", "Natalie", "Ullcombe", dob_for_age(world, 36), "female")
    child = new_person(
        world,
        home,
        "child",
        "Oscar",
        "Ullcombe",
        dob_for_age(world, 10),
        "male",
        schooled_elsewhere=True,
    )
    new_person(
        world,
        home,
        "sibling",
        "Poppy",
        "Ullcombe",
        dob_for_age(world, 6),
        "female",
        schooled_elsewhere=True,
    )
    return child.person_id


def _name_match_only(world: World, addresses: AddressBook) -> str:
    home = new_household(world, addresses)
    ago = world.days_ago
    mother = new_person(
        world, home, "mother", "Aneta", "O'Calder", dob_for_age(world, 38), "female"
    )
    child = new_person(world, home, "child", "Mia", "O'Calder", dob_for_age(world, 12), "female")
    gp = rec.registration(world, child, ago(150), with_nhs_number=False)
    rec.ae(world, gp, ago(90), "illness", "Wheeze; treated with nebuliser and discharged.")
    rec.registration(world, mother, ago(150))
    pupil = rec.pupil(world, child, 96.1, on_roll_since=ago(140))
    pupil.record_upn = False
    pupil.surname_override = "OCalder"
    pupil.sen_provision, pupil.sen_since = "K", ago(120)
    return child.person_id


def _postcode_mismatch(world: World, addresses: AddressBook) -> str:
    home = new_household(world, addresses)
    home.previous_postcode = addresses.postcode()
    ago = world.days_ago
    new_person(world, home, "father", "Imran", "Thornwell", dob_for_age(world, 39), "male")
    child: Person = new_person(
        world, home, "child", "Yusuf", "Thornwell", dob_for_age(world, 11), "male"
    )
    gp = rec.registration(world, child, ago(1500))
    gp.postcode_override = home.previous_postcode
    rec.ae(world, gp, ago(300), "injury", "Sprained wrist playing football; X-ray clear.")
    pupil = rec.pupil(world, child, 93.4)
    pupil.record_upn = False
    pupil.postcode_override = home.previous_postcode
    return child.person_id
