"""Every dashboard chart's query, timed over repeated loads with every cache off: p50 and p95.

Two figures per chart:
- **ClickHouse**: the SQL Superset generates for the chart (`/api/v1/chart/<id>/data/?type=query`,
  or the legacy endpoint's `query` for deck.gl maps), run as the BI user with the query cache off
  (`use_query_cache=0`), timed by the server (`elapsed` of the HTTP summary header).
- **Superset**: the chart's data request with `force=true` (Superset's cache bypassed), end to end as
  the dashboard's front end waits for it: query building, ClickHouse, post-processing, JSON.
Run against a stack whose marts hold a big history (bench/RESULTS.md says how it was loaded):
    python -m bench.charts --repeat 15 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass

import clickhouse_connect
import requests

from cur import settings as settings_module
from infra.superset_api import login
from tests.e2e.superset_helpers import DASHBOARDS, dashboard_charts

TIMEOUT = 300


@dataclass
class ChartTiming:
    dashboard: str
    chart: str
    rows: int
    clickhouse_p50_ms: float
    clickhouse_p95_ms: float
    superset_p50_ms: float
    superset_p95_ms: float
    rows_read: int


def _p(values: list[float], q: float) -> float:
    """The q-quantile by the inclusive method (what 15 samples can tell)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _legacy(session: requests.Session, base: str, chart_id: int, query_only: bool) -> dict:
    params = {"force": "true", **({"query": "true"} if query_only else {})}
    response = session.post(
        f"{base}/superset/explore_json/",
        params=params,
        data={"form_data": json.dumps({"slice_id": chart_id})},
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    return response.json()


def chart_sql(session: requests.Session, base: str, chart: dict) -> str:
    if chart["form_data"].get("viz_type", "").startswith("deck_"):
        return _legacy(session, base, chart["id"], query_only=True)["query"]
    response = session.get(f"{base}/api/v1/chart/{chart['id']}/data/", params={"type": "query"}, timeout=TIMEOUT)
    response.raise_for_status()
    [query] = response.json()["result"]
    return query["query"]


def superset_load(session: requests.Session, base: str, chart: dict) -> int:
    """One forced load of the chart's data; the number of rows (or map features)."""
    if chart["form_data"].get("viz_type", "").startswith("deck_"):
        return len(_legacy(session, base, chart["id"], query_only=False)["data"]["features"])
    response = session.get(
        f"{base}/api/v1/chart/{chart['id']}/data/", params={"type": "full", "force": "true"}, timeout=TIMEOUT
    )
    response.raise_for_status()
    return sum(len(q.get("data") or []) for q in response.json()["result"])


def measure(repeat: int) -> list[ChartTiming]:
    settings = settings_module.load()
    base = f"http://127.0.0.1:{settings.superset_port}"
    session = login(base, "admin", settings.superset_admin_password)
    client = clickhouse_connect.get_client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_http_port,
        username=settings.clickhouse_bi_user,
        password=settings.clickhouse_bi_password,
        database=settings.analytics_database,
    )
    timings = []
    for dashboard in DASHBOARDS.DASHBOARDS:
        for chart in dashboard_charts(session, base, dashboard.slug):
            sql = chart_sql(session, base, chart)
            server_ms, rows_read = [], 0
            for _ in range(repeat):
                result = client.query(sql, settings={"use_query_cache": 0})
                summary = result.summary
                server_ms.append(float(summary.get("elapsed_ns", 0)) / 1e6)
                rows_read = int(summary.get("read_rows", 0))
            superset_ms, rows = [], 0
            for _ in range(repeat):
                started = time.perf_counter()
                rows = superset_load(session, base, chart)
                superset_ms.append((time.perf_counter() - started) * 1000)
            timing = ChartTiming(
                dashboard.title,
                chart["slice_name"],
                rows,
                round(_p(server_ms, 0.5), 1),
                round(_p(server_ms, 0.95), 1),
                round(_p(superset_ms, 0.5), 1),
                round(_p(superset_ms, 0.95), 1),
                rows_read,
            )
            print(
                f"{timing.dashboard[:14]:14} {timing.chart[:48]:48} rows {rows:6}  read {rows_read:>10,}"
                f"  ClickHouse p50 {timing.clickhouse_p50_ms:7.1f} p95 {timing.clickhouse_p95_ms:7.1f} ms"
                f"  Superset p50 {timing.superset_p50_ms:7.1f} p95 {timing.superset_p95_ms:7.1f} ms",
                flush=True,
            )
            timings.append(timing)
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="loads per chart and per path")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    timings = measure(args.repeat)
    worst = max(timings, key=lambda t: t.superset_p95_ms)
    print(f"{len(timings)} charts; slowest at p95 through Superset: «{worst.chart}» {worst.superset_p95_ms} ms")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump([asdict(t) for t in timings], f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
