"""The routing table: every subcategory has exactly one owner, and the dbt seed repeats the same set."""

from __future__ import annotations

from pathlib import Path

import yaml

from cur import taxonomy

SEEDS_YML = Path(__file__).resolve().parents[2] / "dbt" / "seeds" / "_taxonomy__seeds.yml"


def _owner(subcategory: str) -> str:
    sector = taxonomy.subcategories()[subcategory].sector_code
    rows = {(r.sector_code, r.subcategory_code): r.authority_code for r in taxonomy.routing()}
    return rows.get((sector, subcategory), rows[(sector, "")])


def test_every_subcategory_has_a_known_owner() -> None:
    for code in taxonomy.subcategories():
        assert _owner(code) in taxonomy.authorities()


def test_a_subcategory_row_overrides_its_sector() -> None:
    assert _owner("housing_utilities.heating") == "minstroy"
    assert _owner("housing_utilities.management_company") == "gzhi"
    assert set(taxonomy.authority_sectors("gzhi")) == {("housing_utilities", "housing_utilities.management_company")}


def test_every_authority_answers_for_something() -> None:
    owners = {r.authority_code for r in taxonomy.routing()}
    assert owners == set(taxonomy.authorities())


def test_authority_kinds_in_the_seed_tests_match_the_module() -> None:
    seeds = {s["name"]: s for s in yaml.safe_load(SEEDS_YML.read_text(encoding="utf-8"))["seeds"]}
    kind = next(c for c in seeds["authorities"]["columns"] if c["name"] == "authority_kind")
    values = kind["data_tests"][0]["accepted_values"]["arguments"]["values"]
    assert tuple(values) == taxonomy.AUTHORITY_KINDS
