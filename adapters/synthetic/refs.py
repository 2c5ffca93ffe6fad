"""Reference numbers in each partner system's house style (all invented).

Each comes from a counter, so references are unique and the same for a given seed.
"""

from __future__ import annotations

import datetime as dt

from adapters.synthetic.model import World


def _n(world: World, name: str) -> int:
    return world.counters.next(name)


def storm_log(world: World, day: dt.date) -> str:
    return f"SL-{day:%Y%m%d}-{100 + _n(world, 'storm') * 13 % 1900:04d}"


def crime_ref(world: World, day: dt.date) -> str:
    return f"CRIS/{4000 + _n(world, 'crime') * 17:04d}/{day:%y}"


def da_ref(world: World, day: dt.date) -> str:
    return f"DA/{day:%y}/{300 + _n(world, 'da') * 29:05d}"


def marac_ref(world: World, day: dt.date) -> str:
    return f"MARAC/QY/{day:%y}/{_n(world, 'marac'):03d}"


def custody_ref(world: World, day: dt.date) -> str:
    return f"CUS/QY/{day:%y}/{1000 + _n(world, 'custody') * 41:05d}"


def missing_ref(world: World, day: dt.date) -> str:
    return f"MISPER/{day:%y}/{200 + _n(world, 'misper') * 11:05d}"


def ae_attendance(world: World, day: dt.date) -> str:
    return f"ED{day:%y}-{4000 + _n(world, 'ae') * 97:06d}"


def hv_contact(world: World) -> str:
    return f"HV-{7000 + _n(world, 'hv') * 13:06d}"


def cpis_flag(world: World) -> str:
    return f"CPIS-{_n(world, 'cpis'):05d}"


def camhs_referral(world: World, day: dt.date) -> str:
    return f"CAMHS-{day:%y}-{100 + _n(world, 'camhs') * 31:04d}"


def admission_no(world: World, school_code: str) -> str:
    return f"{school_code}-{_n(world, 'adm' + school_code) * 7 + 100:05d}"


def school_event(world: World, event_type: str) -> str:
    prefix = {"suspension": "SUS", "permanent_exclusion": "PEX", "dsl_concern": "DSL"}
    return f"{prefix[event_type]}-{_n(world, 'evt' + event_type):05d}"
