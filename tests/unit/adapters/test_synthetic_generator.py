"""The seeded synthetic data generator (adapters/synthetic)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
from stdnum.gb import nhs, upn

from adapters.synthetic import generate
from adapters.synthetic.identifiers import pnc_id

EXPECTED_KNOWN_TO = {
    "all_sources_high_risk": ["police", "health", "education"],
    "police_only": ["police"],
    "health_only": ["health"],
    "education_only": ["education"],
    "no_trace": [],
    "name_match_only": ["health", "education"],
    "postcode_mismatch": ["health", "education"],
}


@pytest.fixture(name="files", scope="module")
def _files() -> dict[str, str]:
    return generate.render()


@pytest.fixture(name="generated", scope="module")
def _generated(files: dict[str, str]) -> dict:
    return json.loads(files[generate.COHORT_FILE])


def test_output_is_deterministic(files: dict[str, str]) -> None:
    """Rendering twice with the default seed gives byte-identical files."""
    assert generate.render() == files


def test_committed_files_are_the_generators_output(files: dict[str, str]) -> None:
    """The data files in the repository are exactly what the default seed produces."""
    root = generate.REPO_ROOT
    for relative, text in files.items():
        assert (root / relative).read_text(encoding="utf-8") == text, relative
    on_disk = {p.name for p in (root / generate.BUNDLES_DIR).glob("*.json")}
    assert on_disk == {Path(r).name for r in files if r.startswith(generate.BUNDLES_DIR)}


def test_another_seed_gives_another_population() -> None:
    """The seed drives the background population (the scenario people stay fixed)."""
    assert generate.render(seed=7)[generate.COHORT_FILE] != generate.render()[generate.COHORT_FILE]


def test_write_is_repeatable_and_clears_stale_bundles(
    files: dict[str, str], tmp_path: Path
) -> None:
    """Writing twice leaves identical bytes, and bundles from an earlier run are removed."""
    stale = tmp_path / generate.BUNDLES_DIR / "stale.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    generate.write(files, tmp_path)
    first = {r: (tmp_path / r).read_bytes() for r in files}
    generate.write(files, tmp_path)
    assert {r: (tmp_path / r).read_bytes() for r in files} == first
    assert not stale.exists()


def test_cohort_size_and_scenarios(generated: dict) -> None:
    """About 40 households / 120 persons, with every scenario naming a child known as described."""
    assert len(generated["households"]) == 40
    assert 100 <= len(generated["persons"]) <= 140
    persons = {p["person_id"]: p for p in generated["persons"]}
    assert set(generated["scenarios"]) == set(EXPECTED_KNOWN_TO)
    for scenario, person_id in generated["scenarios"].items():
        assert persons[person_id]["relationship"] == "child"
        assert persons[person_id]["known_to"] == EXPECTED_KNOWN_TO[scenario], scenario


def test_single_source_and_no_trace_households_stay_within_their_source(generated: dict) -> None:
    """Nobody in a one-source or no-trace household is known to any other partner."""
    persons = {p["person_id"]: p for p in generated["persons"]}
    for scenario in ("police_only", "health_only", "education_only", "no_trace"):
        home = persons[generated["scenarios"][scenario]]["household_id"]
        allowed = set(EXPECTED_KNOWN_TO[scenario])
        for person in (p for p in generated["persons"] if p["household_id"] == home):
            assert set(person["known_to"]) <= allowed, (scenario, person["person_id"])


def test_every_nhs_number_and_upn_in_the_cohort_is_valid(generated: dict) -> None:
    """NHS numbers pass mod 11 and sit in the 999 test range; UPNs have valid check letters."""
    numbers = [p["nhs_number"] for p in generated["persons"]]
    assert len(set(numbers)) == len(numbers)
    assert all(nhs.is_valid(n) and n.startswith("999") for n in numbers)
    upns = [p["upn"] for p in generated["persons"] if p["upn"]]
    assert upns and len(set(upns)) == len(upns)
    assert all(upn.is_valid(u) for u in upns)


def test_identifiers_in_partner_files_are_valid_too(files: dict[str, str]) -> None:
    """NHS numbers in the FHIR bundles and UPNs in the school export are valid as well."""
    bundle_numbers = [
        ident["value"]
        for relative, text in files.items()
        if relative.startswith(generate.BUNDLES_DIR)
        for entry in json.loads(text)["entry"]
        for ident in entry["resource"].get("identifier", [])
        if ident["system"] == "https://fhir.nhs.uk/Id/nhs-number"
    ]
    assert bundle_numbers and all(nhs.is_valid(n) for n in bundle_numbers)
    pupils = csv.DictReader(io.StringIO(files[f"{generate.EDUCATION_DIR}/pupils.csv"]))
    pupil_upns = [row["upn"] for row in pupils if row["upn"]]
    assert pupil_upns and all(upn.is_valid(u) for u in pupil_upns)


def test_addresses_are_invented(generated: dict) -> None:
    """Every postcode uses the non-existent QY area in a real-looking shape, and is unique."""
    postcodes = [h["postcode"] for h in generated["households"]]
    assert len(set(postcodes)) == len(postcodes)
    assert all(re.fullmatch(r"QY\d \d[A-Z]{2}", p) for p in postcodes)
    assert all(h["address"].endswith(", Quillsby") for h in generated["households"])


def test_police_script_loads_into_sqlite(files: dict[str, str]) -> None:
    """police.sql is valid SQLite holding every table the adapter queries."""
    db = sqlite3.connect(":memory:")
    db.executescript(files[generate.POLICE_FILE])
    for table in (
        "persons",
        "incidents",
        "domestic_abuse",
        "arrests",
        "marac_referrals",
        "missing_episodes",
    ):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
    risks = {r for (r,) in db.execute("SELECT DISTINCT dash_risk FROM domestic_abuse")}
    assert risks == {"standard", "medium", "high"}


def test_health_files_are_fhir_collection_bundles(files: dict[str, str]) -> None:
    """Each bundle is a FHIR collection Bundle with exactly one Patient."""
    bundles = [json.loads(t) for r, t in files.items() if r.startswith(generate.BUNDLES_DIR)]
    assert bundles
    for bundle in bundles:
        assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
        kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
        assert kinds.count("Patient") == 1


def test_pnc_ids_follow_the_display_form_and_check_rule() -> None:
    """YY/NNNNNNND; check = YYNNNNNNN mod 23 mapped 1=A.. (no I, O, S), 0=Z."""
    assert pnc_id(2007, 131676) == "07/0131676G"  # 70131676 mod 23 = 7 -> G
    assert pnc_id(2000, 23) == "00/0000023Z"  # remainder 0 -> Z
    assert re.fullmatch(r"\d{2}/\d{7}[A-HJ-NP-RT-Z]", pnc_id(2019, 4242424))
