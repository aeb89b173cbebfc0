"""Checks the imported Superset dashboards through the REST API, the way a client sees them.

Logs in, finds a dashboard by slug and asks for every chart's data (the query context saved with
the chart, or the legacy endpoint for deck.gl maps), so a broken chart definition, a missing
dataset column or an unreachable ClickHouse fails the test instead of showing an empty tile.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType
from typing import Any

import requests

from cur.settings import REPO_ROOT
from infra.superset_api import login, response_json


def _dashboards_module() -> ModuleType:
    """superset/dashboards.py (stdlib and PyYAML only) by path: superset/ is not a package."""
    spec = importlib.util.spec_from_file_location("cur_superset_dashboards", REPO_ROOT / "superset" / "dashboards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


DASHBOARDS = _dashboards_module()
DASHBOARD_SLUGS = tuple(d.slug for d in DASHBOARDS.DASHBOARDS)
DASHBOARD_SLUG = DASHBOARD_SLUGS[0]  # the governor's, the one the demo prints
TIMEOUT = 120


def dashboard_charts(session: requests.Session, base_url: str, slug: str) -> list[dict[str, Any]]:
    """The charts of the dashboard `slug` (id, slice_name, form_data) as the API lists them."""
    dashboard = response_json(session.get(f"{base_url}/api/v1/dashboard/{slug}", timeout=TIMEOUT), f"dashboard {slug}")
    dashboard_id = dashboard["result"]["id"]
    charts = response_json(session.get(f"{base_url}/api/v1/dashboard/{dashboard_id}/charts", timeout=TIMEOUT), "charts")
    if not charts["result"]:
        raise AssertionError(f"dashboard {slug} has no charts: {charts}")
    return charts["result"]


def chart_data(session: requests.Session, base_url: str, chart: dict[str, Any]) -> list[dict[str, Any]]:
    """One chart's rows, from ClickHouse (force: not Superset's cache); AssertionError on any failure.

    Charts of the chart data API run the query context saved with them; deck.gl charts are still
    served by the legacy explore_json endpoint from their form data, as their front end asks.
    """
    name, chart_id = chart["slice_name"], chart["id"]
    what = f"data of chart {chart_id} «{name}»"
    if chart["form_data"].get("viz_type", "").startswith("deck_"):
        body = response_json(
            session.post(
                f"{base_url}/superset/explore_json/",
                params={"force": "true"},
                data={"form_data": json.dumps({"slice_id": chart_id})},
                timeout=TIMEOUT,
            ),
            what,
        )
        if body.get("error") or body.get("status") == "failed":
            raise AssertionError(f"{what}: {body.get('error')}")
        # No rows: the legacy endpoint says so with no data at all rather than an empty list.
        return (body.get("data") or {}).get("features") or []
    body = response_json(
        session.get(
            f"{base_url}/api/v1/chart/{chart_id}/data/",
            params={"format": "json", "type": "full", "force": "true"},
            timeout=TIMEOUT,
        ),
        what,
    )
    queries = body.get("result")
    if not queries:
        raise AssertionError(f"{what}: no query result: {body}")
    for query in queries:
        if query.get("error") or query.get("status") == "failed":
            raise AssertionError(f"{what}: {query.get('error')}: {json.dumps(body, ensure_ascii=False)[:4000]}")
    return queries[0].get("data")


def check_dashboard(base_url: str, username: str, password: str, slug: str = DASHBOARD_SLUG) -> dict[str, list | None]:
    """{chart name: data rows} for every chart of the dashboard; AssertionError on any failure."""
    base_url = base_url.rstrip("/")
    session = login(base_url, username, password)
    return {
        chart["slice_name"]: chart_data(session, base_url, chart) for chart in dashboard_charts(session, base_url, slug)
    }
