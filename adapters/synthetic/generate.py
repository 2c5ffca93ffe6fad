"""Generate the synthetic cohort and every partner's data files from one seed.

    python -m adapters.synthetic.generate [--seed N] [--as-of YYYY-MM-DD]

The output is deterministic: the same seed and reference date give byte-identical
files. Record dates are placed relative to the reference date. The adapters rate
recency against each request's `issued_at`, so a request issued long after the
reference date sees older records, and a red case can fade to amber. Regenerate
with a later `--as-of` when that matters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path

from adapters.synthetic import (
    cohort_json,
    fhir_bundles,
    places,
    police_sql,
    population,
    scenarios,
    school_csv,
)
from adapters.synthetic.model import Cohort, World

DEFAULT_SEED = 2026
REFERENCE_DATE = dt.date(2026, 11, 1)
HOUSEHOLDS = 40
REPO_ROOT = Path(__file__).resolve().parents[2]

COHORT_FILE = "adapters/synthetic/cohort.json"
POLICE_FILE = "adapters/police/data/police.sql"
BUNDLES_DIR = "adapters/health/data/bundles"
EDUCATION_DIR = "adapters/education/data"


def build_cohort(seed: int = DEFAULT_SEED, as_of: dt.date = REFERENCE_DATE) -> Cohort:
    """The whole synthetic world for `seed`, as of `as_of`."""
    world = World(Cohort(seed=seed, reference_date=as_of), random.Random(seed))
    addresses = places.AddressBook(world.rng)
    scenarios.build(world, addresses)
    population.build(world, addresses, HOUSEHOLDS)
    _check_unique_demographics(world.cohort)
    return world.cohort


def render(seed: int = DEFAULT_SEED, as_of: dt.date = REFERENCE_DATE) -> dict[str, str]:
    """Repository-relative path -> file text, for every generated file."""
    cohort = build_cohort(seed, as_of)
    files = {COHORT_FILE: cohort_json.render(cohort), POLICE_FILE: police_sql.render(cohort)}
    files |= {f"{BUNDLES_DIR}/{n}": t for n, t in fhir_bundles.render(cohort).items()}
    files |= {f"{EDUCATION_DIR}/{n}": t for n, t in school_csv.render(cohort).items()}
    return files


def write(files: dict[str, str], root: Path = REPO_ROOT) -> None:
    """Write `files` under `root`, first removing bundles a previous run left behind."""
    bundles = root / BUNDLES_DIR
    for stale in bundles.glob("*.json") if bundles.is_dir() else ():
        stale.unlink()
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


def _check_unique_demographics(cohort: Cohort) -> None:
    # Two people sharing name + DOB + postcode would make name matching ambiguous.
    seen: set[tuple[str, str, dt.date, str]] = set()
    for person in cohort.persons:
        postcode = cohort.household(person.household_id).postcode
        key = (person.given_name, person.family_name, person.date_of_birth, postcode)
        if key in seen:
            raise ValueError(f"duplicate demographics for {person.person_id}")
        seen.add(key)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=REFERENCE_DATE)
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    files = render(args.seed, args.as_of)
    write(files, args.root)
    print(f"wrote {len(files)} files under {args.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
