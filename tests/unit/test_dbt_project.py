"""The dbt project parses and its KPI mart keeps the contract Superset reads (no database needed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cur import sla
from cur.schema import STATUSES
from cur.settings import REPO_ROOT

DBT_DIR = REPO_ROOT / "dbt"
MARTS = ("fct_appeals", "kpi_daily", "sla_breaches", "backlog_daily")
KPI_DIMENSIONS = ["sector", "subcategory", "sla_class", "municipality_code", "ministry_code", "executor", "source"]


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


def _sql(manifest: dict, name: str) -> str:
    node = _node(manifest, name)
    return (DBT_DIR / node["original_file_path"]).read_text(encoding="utf-8")


def test_marts_rebuild_whole_days(manifest: dict) -> None:
    # insert_overwrite replaces the partitions the new rows fall in: anything coarser than a day would
    # be replaced by the look-back window's days alone, and lose the rest of the month.
    for name in MARTS:
        config = _node(manifest, name)["config"]
        assert config["materialized"] == "incremental"
        assert config["incremental_strategy"] == "insert_overwrite"
        assert config["partition_by"] in ("created_date", "report_date", "snapshot_date"), name


def test_every_kpi_measure_is_documented_with_its_trace(manifest: dict) -> None:
    daily = _node(manifest, "kpi_daily")
    measures = re.findall(r"'(\w+)'", (DBT_DIR / "macros" / "kpi_measures.sql").read_text(encoding="utf-8"))
    assert measures and set(measures) <= set(daily["columns"])
    for measure in measures:
        column = daily["columns"][measure]
        assert column["description"], measure
        assert column["meta"].get("trace"), measure
        assert f"as {measure}" in _sql(manifest, "kpi_daily"), measure
    assert daily["config"]["meta"]["trace"]["from"] == "fct_appeals"


def test_kpi_grain_is_the_same_everywhere(manifest: dict) -> None:
    group_by = ", ".join(KPI_DIMENSIONS)
    assert f"group by report_date, {group_by}" in _sql(manifest, "kpi_daily")
    assert f"partition by {group_by}" in _sql(manifest, "backlog_daily")
    for view in ("kpi_weekly", "kpi_monthly"):
        assert f"group by period_start, {group_by}" in _sql(manifest, view)


def test_closed_sets_repeat_the_ones_of_cur(manifest: dict) -> None:
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    values = {
        (t["attached_node"].split(".")[-1], t["column_name"]): t["test_metadata"]["kwargs"]["values"]
        for t in tests
        if t.get("test_metadata", {}).get("name") == "accepted_values"
    }
    assert values[("fct_appeals", "source")] == ["pos", "112", "safe_city", "housing"]
    assert values[("fct_appeals", "current_status")] == list(STATUSES)
    assert values[("fct_appeals", "priority")] == [p.value for p in sla.Priority]
    assert set(values[("kpi_daily", "sla_class")]) == set(sla.RULES.sla_classes)
    assert set(values[("subcategories", "sla_class")]) == set(sla.RULES.sla_classes)


def test_taxonomy_seeds_come_from_cur_taxonomy(manifest: dict) -> None:
    for name in ("subcategories", "municipalities", "feed_codes"):
        seed = _node(manifest, name)
        assert Path(seed["root_path"], seed["original_file_path"]).resolve() == REPO_ROOT / "cur" / "taxonomy" / (
            f"{name}.csv"
        )
    assert _node(manifest, "municipalities")["config"]["column_types"]["municipality_code"] == "LowCardinality(String)"


def test_kpi_formulas_have_a_golden_test() -> None:
    # The golden dataset runs dbt on the real ClickHouse (tests/e2e/test_kpi_golden.py); every mart is in it.
    text = (REPO_ROOT / "tests" / "e2e" / "test_kpi_golden.py").read_text(encoding="utf-8")
    for mart in ("fct_appeals", "kpi_daily", "kpi_weekly", "backlog_daily", "tension_weekly", "heatmap_weekly"):
        assert mart in text, mart


def _dashboard_tables() -> dict[str, set[str]]:
    """Superset's own assets: dashboard slug → the analytics tables its charts read."""
    assets = REPO_ROOT / "superset" / "assets"
    load = lambda p: yaml.safe_load(p.read_text(encoding="utf-8"))  # noqa: E731
    datasets = {d["uuid"]: d for d in map(load, (assets / "datasets").rglob("*.yaml"))}
    charts = {c["uuid"]: c["dataset_uuid"] for c in map(load, (assets / "charts").glob("*.yaml"))}
    result = {}
    for dashboard in map(load, (assets / "dashboards").glob("*.yaml")):
        charts_used = {
            v["meta"]["uuid"]
            for v in dashboard["position"].values()
            if isinstance(v, dict) and v.get("type") == "CHART"
        }
        tables = [datasets[charts[u]] for u in charts_used]
        result[dashboard["slug"]] = {d["table_name"] for d in tables if d["schema"] == "analytics"}
    return result


def test_exposures_list_what_the_dashboards_read(manifest: dict) -> None:
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    for slug, tables in _dashboard_tables().items():
        if not tables:
            continue  # reads no mart (the auditors' dashboard reads the cur.bi_* views)
        exposure = exposures[f"dashboard_{slug.replace('-', '_')}"]
        assert {n.split(".")[-1] for n in exposure["depends_on"]["nodes"]} == tables, slug
        assert exposure["url"].endswith(f"/dashboard/{slug}/")
