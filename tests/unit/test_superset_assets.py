"""The Superset assets as code (superset/dashboards.py) and the roles (superset/roles.py), without Superset.

The YAML under superset/assets/ is what Superset imports; it must be exactly what the module renders,
every chart must name metrics and columns its dataset has, and every ratio must be a ratio of sums.
The ministries' row-level security must cover every authority of the taxonomy, from routing.csv.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from types import ModuleType

import pytest
import yaml

from cur import taxonomy
from cur.settings import REPO_ROOT

SUPERSET_DIR = REPO_ROOT / "superset"
SUM = r"\b(sum|sumIf|count|countIf)\("  # an additive total: a count is a sum of ones


def _load(name: str) -> ModuleType:
    """A module of superset/ by path: that folder shadows nothing, but is not a package."""
    if str(SUPERSET_DIR) not in sys.path:
        sys.path.insert(0, str(SUPERSET_DIR))
    spec = importlib.util.spec_from_file_location(name, SUPERSET_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dashboards() -> ModuleType:
    return _load("dashboards")


@pytest.fixture(scope="module")
def roles(dashboards: ModuleType) -> ModuleType:
    return _load("roles")


def test_committed_assets_are_what_the_module_renders(dashboards: ModuleType) -> None:
    assert dashboards.differences() == [], "run: python superset/dashboards.py"


def test_every_chart_names_what_its_dataset_has(dashboards: ModuleType) -> None:
    for dashboard in dashboards.DASHBOARDS:
        for chart in dashboard.charts:
            dataset = chart.dataset
            metrics = {m.name for m in dataset.metrics}
            columns = {c.name for c in dataset.columns}
            params = chart.params
            named_metrics = params.get("metrics", []) + [params[k] for k in ("metric",) if k in params]
            assert set(named_metrics) <= metrics, (chart.key, set(named_metrics) - metrics)
            named_columns = list(params.get("groupby", []))
            expressions = {c.name: c.expression for c in dataset.columns if c.expression}
            for column in params.get("all_columns", []):
                if isinstance(column, dict):  # a calculated column shown in a raw list: its own expression
                    assert column["sqlExpression"] == expressions.get(column["label"]), (chart.key, column)
                    column = column["label"]
                named_columns.append(column)
            named_columns += [params[k] for k in ("x_axis", "line_column") if k in params]
            named_columns += [f["subject"] for f in params["adhoc_filters"] if f["expressionType"] == "SIMPLE"]
            assert set(named_columns) <= columns, (chart.key, set(named_columns) - columns)
            assert dataset.dttm in columns


def test_ratios_are_ratios_of_sums(dashboards: ModuleType) -> None:
    for dataset in dashboards.DATASETS:
        for metric in dataset.metrics:
            assert not re.search(r"\bavg\(", metric.expression), (dataset.table, metric.name)
            if "/" in metric.expression:
                numerator, denominator = metric.expression.split("/", 1)
                assert re.search(SUM, numerator) and re.search(SUM, denominator), (
                    dataset.table,
                    metric.name,
                )


def test_period_filter_defaults_to_four_weeks_and_spares_the_charts_with_their_own(dashboards: ModuleType) -> None:
    for dashboard in dashboards.DASHBOARDS:
        rendered = yaml.safe_load(dashboards.render()[f"dashboards/{dashboard.slug}.yaml"].split("\n", 1)[1])
        position = rendered["position"]
        ids = {position[f"CHART-{c.key}"]["meta"]["chartId"]: c for c in dashboard.charts}
        assert len(ids) == len(dashboard.charts)
        [period] = [f for f in rendered["metadata"]["native_filter_configuration"] if f["filterType"] == "filter_time"]
        assert period["defaultDataMask"]["extraFormData"] == {"time_range": "Last 4 weeks"}
        assert {ids[i].key for i in period["scope"]["excluded"]} == {c.key for c in dashboard.charts if c.own_period}


def test_chart_query_contexts_match_their_params(dashboards: ModuleType) -> None:
    for name, text in dashboards.render().items():
        if not name.startswith("charts/"):
            continue
        chart = yaml.safe_load(text.split("\n", 1)[1])
        if chart["viz_type"].startswith("deck_"):
            assert chart["query_context"] is None  # the front end asks the legacy endpoint from the params
            assert chart["params"]["mapbox_style"].startswith("tile://http")
            continue
        context = json.loads(chart["query_context"])
        assert context["form_data"] == chart["params"], name
        [query] = context["queries"]
        assert query["metrics"] if chart["params"].get("query_mode") != "raw" else "metrics" not in query, name


def test_every_authority_has_a_role_and_row_level_security(roles: ModuleType, dashboards: ModuleType) -> None:
    rules = roles.ministry_rules()
    by_role: dict[str, list] = {}
    for rule in rules:
        by_role.setdefault(rule.role, []).append(rule)
    assert set(by_role) == {roles.ministry_role(code) for code in taxonomy.authorities()}
    protected = {d.table for d in dashboards.MINISTRY_DATASETS}
    for code in taxonomy.authorities():
        covered = [t for rule in by_role[roles.ministry_role(code)] for t in rule.tables]
        assert sorted(covered) == sorted(protected), code  # every dataset it may read, once
    assert len({rule.name for rule in rules}) == len(rules)


def test_sector_filters_follow_routing(roles: ModuleType) -> None:
    for code in taxonomy.authorities():
        sectors = roles.whole_sectors(code)
        expected = sorted(
            {r.sector_code for r in taxonomy.routing() if r.authority_code == code and not r.subcategory_code}
        )
        assert sectors == expected
        [rule] = [r for r in roles.ministry_rules() if r.name == f"{roles.RLS_PREFIX}{code}: свои сферы"]
        for sector in taxonomy.sectors():
            assert (f"'{sector}'" in rule.clause) == (sector in expected), (code, sector)


def test_filter_clauses_quote_only_codes(roles: ModuleType) -> None:
    with pytest.raises(ValueError):
        roles._quote("x' OR 1 = 1 --")
