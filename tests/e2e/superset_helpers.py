"""Checks the imported Superset dashboard through the REST API, the way a client sees it.

Logs in, finds the dashboard by slug and asks the chart data API for every chart's data using the
query context saved with the chart, so a broken chart definition, a missing dataset column or an
unreachable ClickHouse fails the test instead of showing an empty tile.
"""

from __future__ import annotations

import json
from typing import Any

import requests

DASHBOARD_SLUG = "appeals-sla"
TIMEOUT = 120


def _body(response: requests.Response) -> str:
    """The response body for an error message, Cyrillic readable rather than \\u-escaped."""
    try:
        return json.dumps(response.json(), ensure_ascii=False)[:4000]
    except ValueError:
        return response.text[:4000]


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise AssertionError(f"{what}: HTTP {response.status_code}: {_body(response)}")
    try:
        return response.json()
    except ValueError as error:
        raise AssertionError(f"{what}: not JSON: {response.text[:4000]}") from error


def login(base_url: str, username: str, password: str) -> requests.Session:
    """A session authenticated with a JWT access token (provider db) and carrying a CSRF token."""
    session = requests.Session()
    body = _json(
        session.post(
            f"{base_url}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
            timeout=TIMEOUT,
        ),
        "login",
    )
    session.headers["Authorization"] = f"Bearer {body['access_token']}"
    csrf = _json(session.get(f"{base_url}/api/v1/security/csrf_token/", timeout=TIMEOUT), "CSRF token")
    session.headers["X-CSRFToken"] = csrf["result"]
    session.headers["Referer"] = base_url
    return session


def check_dashboard(base_url: str, username: str, password: str) -> dict[str, list | None]:
    """{chart name: data rows} for every chart of the dashboard; AssertionError on any failure.

    The data is fetched with force=true, so it comes from ClickHouse, not from Superset's cache.
    """
    base_url = base_url.rstrip("/")
    session = login(base_url, username, password)
    dashboard = _json(session.get(f"{base_url}/api/v1/dashboard/{DASHBOARD_SLUG}", timeout=TIMEOUT), "dashboard")
    dashboard_id = dashboard["result"]["id"]
    charts = _json(session.get(f"{base_url}/api/v1/dashboard/{dashboard_id}/charts", timeout=TIMEOUT), "charts")
    if not charts["result"]:
        raise AssertionError(f"dashboard {DASHBOARD_SLUG} has no charts: {charts}")

    results: dict[str, list | None] = {}
    for chart in charts["result"]:
        name, chart_id = chart["slice_name"], chart["id"]
        what = f"data of chart {chart_id} «{name}»"
        body = _json(
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
        results[name] = queries[0].get("data")
    return results
