"""The dbt project parses and its KPI mart keeps the contract Superset reads (no database needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cur.settings import REPO_ROOT

DBT_DIR = REPO_ROOT / "dbt"
MART_COLUMNS = {
    "created_date": "Date",
    "sector": "LowCardinality(String)",
    "sector_name_ru": "String",
    "municipality_code": "LowCardinality(String)",
    "municipality_name_ru": "String",
    "appeals_total": "UInt64",
    "answered_total": "UInt64",
    "answered_on_time": "UInt64",
    "overdue_total": "UInt64",
    "sla_compliance_pct": "Float64",
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt_target")
    dbt = Path(sys.executable).with_name("dbt")
    subprocess.run(
        [
            str(dbt),
            "parse",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(target),
        ],
        check=True,
        cwd=REPO_ROOT,
        capture_output=True,
    )
    return json.loads((target / "manifest.json").read_text(encoding="utf-8"))


def _node(manifest: dict, name: str) -> dict:
    return next(n for n in manifest["nodes"].values() if n["name"] == name and n["resource_type"] != "test")


def test_profile_reads_every_connection_value_from_the_environment() -> None:
    output = yaml.safe_load((DBT_DIR / "profiles.yml").read_text(encoding="utf-8"))["cur"]["outputs"]["dev"]
    for key in ("host", "port", "user", "password", "schema"):
        assert "env_var(" in str(output[key]), key
    assert output["driver"] == "http"


def test_mart_matches_the_contract(manifest: dict) -> None:
    mart = _node(manifest, "appeals_sla_daily")
    assert mart["config"]["contract"]["enforced"]
    assert {name: c["data_type"] for name, c in mart["columns"].items()} == MART_COLUMNS
    assert list(mart["columns"]) == list(MART_COLUMNS)


def test_mart_is_incremental_per_interval(manifest: dict) -> None:
    config = _node(manifest, "appeals_sla_daily")["config"]
    assert config["materialized"] == "incremental"
    assert config["incremental_strategy"] == "delete+insert"
    assert config["unique_key"] == ["created_date", "sector", "municipality_code"]
    assert config["partition_by"] and config["order_by"]


def test_taxonomy_seeds_come_from_cur_taxonomy(manifest: dict) -> None:
    for name in ("subcategories", "municipalities", "feed_codes"):
        seed = _node(manifest, name)
        assert Path(seed["root_path"], seed["original_file_path"]).resolve() == REPO_ROOT / "cur" / "taxonomy" / (
            f"{name}.csv"
        )
    assert _node(manifest, "municipalities")["config"]["column_types"]["municipality_code"] == "LowCardinality(String)"


def test_sla_logic_has_unit_tests(manifest: dict) -> None:
    tested = {u["model"] for u in manifest["unit_tests"].values()}
    assert {"int_appeals_sla_evaluated", "appeals_sla_daily"} <= tested
