"""The dashboards on real KPI marts: import idempotence, every chart's data, each role's rows, a real browser.

Six weeks of generated history go in through the bulk path, are deduplicated by the Spark job
(local mode) and turned into the marts by `dbt build`, as the DAG does; then Superset (started by
infra/test.sh, with the assets, roles and users imported) is asked through its API and in headless
Chromium. The figures a ministry sees are compared with ClickHouse's own counts of its rows.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy
import psycopg2
import pytest
import requests
from clickhouse_driver import Client
from PIL import Image

from cur import mail, taxonomy
from cur.migrate import BOUNDARIES_PATH, migrate
from cur.settings import REPO_ROOT, Settings
from tests.e2e.conftest import _reachable, wait_for
from tests.e2e.superset_helpers import DASHBOARD_SLUGS, DASHBOARDS, chart_data, dashboard_charts, login

pytestmark = pytest.mark.e2e

DAYS, PER_DAY, SEED = 28, 120, 31
BI_PY = REPO_ROOT / ".state" / "install" / "venvs" / "bi" / "bin" / "python"
CUR_TABLES = (
    "appeals",
    "appeal_status_events",
    "appeal_state_agg",  # kept from the events by a materialized view: a TRUNCATE of them does not reach it
    "appeals_dedup",
    "rejected_events",
    "problem_links",
    "record_outcomes",
)
MARTS = ("fct_appeals", "kpi_daily", "kpi_weekly", "kpi_monthly", "backlog_daily", "tension_weekly", "heatmap_weekly")
MINISTRY = "minzdrav"  # owns a whole sector (healthcare)
SUBCATEGORY_ONLY = "gzhi"  # owns only a subcategory of housing_utilities


def _bi_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "SUPERSET_CONFIG_PATH": str(REPO_ROOT / "superset" / "superset_config.py")}


def _truncate(clickhouse: Client, settings: Settings) -> None:
    """Empties the tables this module fills (views over them, as dbt may make some marts, need nothing)."""
    for database, tables in ((settings.clickhouse_database, CUR_TABLES), (settings.analytics_database, MARTS)):
        for (table,) in clickhouse.execute(
            "SELECT name FROM system.tables WHERE database = %(db)s AND name IN %(names)s AND engine NOT LIKE '%%View'",
            {"db": database, "names": list(tables)},
        ):
            clickhouse.execute(f"TRUNCATE TABLE {database}.{table}")


@pytest.fixture(scope="module")
def marts(settings: Settings, clickhouse: Client) -> Iterator[Settings]:
    from spark_jobs import dedup_appeals
    from streams.generator.bulk import load_history

    migrate(settings)
    _truncate(clickhouse, settings)
    now = datetime.now(UTC)
    today = now.astimezone(settings.tz).date()
    first = today - timedelta(days=DAYS)
    load_history(first, [PER_DAY] * DAYS, SEED, settings, until=now)
    # The dedup job replaces one partition (a region-local month) at a time.
    start = datetime.combine(first, datetime.min.time(), tzinfo=settings.tz)
    while start < now:
        end = min((start.replace(day=1) + timedelta(days=32)).replace(day=1), now.astimezone(settings.tz))
        dedup_appeals.run(settings, start.astimezone(UTC), end.astimezone(UTC))
        start = end
    project = str(REPO_ROOT / "dbt")
    dbt_bin = str(Path(sys.executable).with_name("dbt"))
    variables = json.dumps({"interval_end": now.isoformat()})
    dbt = subprocess.run(
        [dbt_bin, "build", "--full-refresh", "--project-dir", project, "--profiles-dir", project, "--vars", variables],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert dbt.returncode == 0, dbt.stdout[-4000:]
    # The auditors' figures: yesterday's reconciliation and checkpoint, as the DAG records them.
    from cur import reconcile
    from expectations import run_checkpoint

    yesterday = today - timedelta(days=1)
    reconcile.store(settings, reconcile.reconcile(settings, yesterday), "e2e-dashboards")
    day_start = datetime.combine(yesterday, datetime.min.time(), tzinfo=settings.tz).astimezone(UTC)
    run_checkpoint.run(settings, day_start, day_start + timedelta(days=1), run_id="e2e-dashboards")
    yield settings
    _truncate(clickhouse, settings)


@pytest.fixture(scope="module")
def superset_url(settings: Settings) -> str:
    url = f"http://127.0.0.1:{settings.superset_port}"
    requests.get(f"{url}/health", timeout=10).raise_for_status()
    return url


def _password(settings: Settings, username: str) -> str:
    return (settings.state_dir / "secrets" / "superset-users" / f"{username}.password").read_text().strip()


def _session(settings: Settings, url: str, username: str) -> requests.Session:
    password = settings.superset_admin_password if username == "admin" else _password(settings, username)
    return login(url, username, password)


def _chart(session: requests.Session, url: str, slug: str, key: str) -> dict[str, Any]:
    """The chart of superset/dashboards.py with this key, as the dashboard `slug` lists it."""
    [spec] = [c for d in DASHBOARDS.DASHBOARDS if d.slug == slug for c in d.charts if c.key == key]
    [chart] = [c for c in dashboard_charts(session, url, slug) if c["slice_name"] == spec.title]
    return chart


# ---- import ----------------------------------------------------------------------------------
def _metadata(settings: Settings) -> dict[str, list]:
    """What the import and the roles script write, without the times and authors of the writes."""
    skip = {"changed_on", "created_on", "changed_by_fk", "created_by_fk", "last_saved_at", "last_saved_by_fk"}
    tables = (
        "dashboards",
        "slices",
        "dashboard_slices",
        "tables",
        "table_columns",
        "sql_metrics",
        "dbs",
        "row_level_security_filters",
        "rls_filter_tables",
        "rls_filter_roles",
        "ab_role",
        "ab_permission_view_role",
        "ab_user_role",
    )
    links = {"dashboard_slices", "rls_filter_tables", "rls_filter_roles", "ab_permission_view_role", "ab_user_role"}
    found: dict[str, list] = {}
    with psycopg2.connect(host="127.0.0.1", port=settings.postgres_port, user="postgres", dbname="superset") as conn:
        cursor = conn.cursor()
        for table in tables:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
            names = [column.name for column in cursor.description]
            rows = [
                {n: v for n, v in zip(names, row, strict=True) if n not in skip and n != "password"}
                for row in cursor.fetchall()
            ]
            if table in links:  # rows of a link table are rewritten on import: their own id means nothing
                rows = sorted(
                    ({k: v for k, v in r.items() if k != "id"} for r in rows), key=lambda r: sorted(r.items())
                )
            found[table] = rows
    return found


def _import(settings: Settings) -> None:
    for script, args in (("import_assets.py", ["--username", "admin"]), ("roles.py", ["--users"])):
        run = subprocess.run(
            [str(BI_PY), str(REPO_ROOT / "superset" / script), *args],
            env=_bi_env(settings),
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr[-3000:]


def test_importing_twice_changes_nothing(settings: Settings, superset_url: str) -> None:
    _import(settings)  # the stack imported at start, maybe older assets: this is the first import of these
    before = _metadata(settings)
    assert len(before["dashboards"]) >= len(DASHBOARD_SLUGS)
    _import(settings)
    after = _metadata(settings)
    for table in before:
        assert after[table] == before[table], table


# ---- every chart's data ------------------------------------------------------------------------
def test_every_dataset_column_is_in_its_table(marts: Settings, clickhouse: Client) -> None:
    """A native filter applies to every chart whose dataset has its column: a declared column that the
    table lacks would break those charts, not just one."""
    databases = {"analytics": marts.analytics_database, "cur": marts.clickhouse_database}
    for dataset in DASHBOARDS.DATASETS:
        present = {
            name
            for (name,) in clickhouse.execute(
                "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(table)s",
                {"db": databases[dataset.schema], "table": dataset.table},
            )
        }
        declared = {c.name for c in dataset.columns if c.expression is None}
        assert declared <= present, (dataset.table, declared - present)


def test_every_chart_of_every_dashboard_returns_data(marts: Settings, superset_url: str) -> None:
    session = _session(marts, superset_url, "admin")
    for slug in DASHBOARD_SLUGS:
        charts = dashboard_charts(session, superset_url, slug)
        assert len(charts) == len(next(d for d in DASHBOARDS.DASHBOARDS if d.slug == slug).charts), slug
        for chart in charts:
            rows = chart_data(session, superset_url, chart)
            # The generated history has no rejected records: the auditors' lists of them may be empty.
            if "Отклон" not in chart["slice_name"]:
                assert rows, f"{slug}: «{chart['slice_name']}» has no rows"


def test_ratios_on_the_dashboard_are_ratios_of_sums(marts: Settings, superset_url: str, clickhouse: Client) -> None:
    session = _session(marts, superset_url, "admin")
    [row] = chart_data(session, superset_url, _chart(session, superset_url, "ministry", "min_first_answer"))
    [(expected,)] = clickhouse.execute(
        "SELECT round(100 * sum(first_answer_met) / sum(first_answer_due), 1)"
        f" FROM {marts.analytics_database}.kpi_daily"
    )
    assert next(iter(row.values())) == pytest.approx(expected)


# ---- roles and row-level security ------------------------------------------------------------
def _ministry_short(clickhouse: Client, settings: Settings, code: str) -> str:
    [(name,)] = clickhouse.execute(
        f"SELECT DISTINCT replaceRegexpOne(ministry_name_ru, '\\\\s+\\\\S+ой области$', '')"
        f" FROM {settings.analytics_database}.kpi_daily WHERE ministry_code = %(code)s",
        {"code": code},
    )
    return name


def test_a_ministry_gets_only_its_rows_from_a_chart(marts: Settings, superset_url: str, clickhouse: Client) -> None:
    analytics = marts.analytics_database
    governor = _session(marts, superset_url, "cur_governor")
    ministry = _session(marts, superset_url, f"cur_{MINISTRY}")
    all_rows = chart_data(governor, superset_url, _chart(governor, superset_url, "governor", "gov_sla_ministry"))
    [(owners,)] = clickhouse.execute(f"SELECT uniqExact(ministry_code) FROM {analytics}.kpi_daily")
    assert len(all_rows) == owners > 1
    own_rows = chart_data(ministry, superset_url, _chart(ministry, superset_url, "governor", "gov_sla_ministry"))
    assert [r["ministry_short_ru"] for r in own_rows] == [_ministry_short(clickhouse, marts, MINISTRY)]
    # The same appeals as ClickHouse counts for that ministry, on a chart without a ministry column.
    [total] = chart_data(ministry, superset_url, _chart(ministry, superset_url, "ministry", "min_appeals"))
    [(expected,)] = clickhouse.execute(
        f"SELECT sum(appeals_received) FROM {analytics}.kpi_daily WHERE ministry_code = %(m)s", {"m": MINISTRY}
    )
    assert total["appeals"] == expected > 0


def test_a_ministry_gets_only_its_sectors_cells_on_the_map(
    marts: Settings, superset_url: str, clickhouse: Client
) -> None:
    analytics = marts.analytics_database
    sectors = [r.sector_code for r in taxonomy.routing() if r.authority_code == MINISTRY and not r.subcategory_code]
    [(cells,)] = clickhouse.execute(
        f"SELECT uniqExact(cell_boundary) FROM {analytics}.heatmap_weekly WHERE sector IN %(s)s", {"s": sectors}
    )
    [(all_cells,)] = clickhouse.execute(f"SELECT uniqExact(cell_boundary) FROM {analytics}.heatmap_weekly")
    for username, expected in (("cur_governor", all_cells), (f"cur_{MINISTRY}", cells), (f"cur_{SUBCATEGORY_ONLY}", 0)):
        session = _session(marts, superset_url, username)
        features = chart_data(session, superset_url, _chart(session, superset_url, "heatmap", "map_volume"))
        assert len(features) == expected, username
    assert 0 < cells < all_cells


def test_the_municipality_map_draws_each_municipality_in_its_outline(
    marts: Settings, superset_url: str, clickhouse: Client
) -> None:
    """The choropleth: one polygon per municipality, the committed outline, its own appeals; a ministry's own only."""
    analytics = marts.analytics_database
    outlines = {
        f["properties"]["municipality_name_ru"]: f["geometry"]
        for f in json.loads(BOUNDARIES_PATH.read_text(encoding="utf-8"))["features"]
    }
    query = f"SELECT municipality_name_ru, sum(appeals) FROM {analytics}.tension_weekly WHERE {{where}} GROUP BY 1"
    totals = {}
    for username, where in (("cur_governor", "1"), (f"cur_{MINISTRY}", f"ministry_code = '{MINISTRY}'")):
        expected = dict(clickhouse.execute(query.format(where=where)))
        session = _session(marts, superset_url, username)
        features = chart_data(
            session, superset_url, _chart(session, superset_url, "heatmap", "map_municipality_volume")
        )
        assert {f["municipality_name_ru"]: f["municipality_appeals"] for f in features} == expected, username
        for feature in features:
            assert feature["polygon"] == outlines[feature["municipality_name_ru"]], feature["municipality_name_ru"]
        totals[username] = sum(expected.values())
    assert set(expected) == set(outlines)  # tension_weekly has every municipality × sector, zeros included
    assert 0 < totals[f"cur_{MINISTRY}"] < totals["cur_governor"]


def test_a_ministry_has_no_sql_lab_and_the_others_only_their_tables(marts: Settings, superset_url: str) -> None:
    def execute(username: str, sql: str) -> requests.Response:
        session = _session(marts, superset_url, username)
        databases = session.get(f"{superset_url}/api/v1/database/", timeout=60).json().get("result", [])
        body = {"database_id": databases[0]["id"] if databases else 1, "sql": sql, "runAsync": False}
        return session.post(f"{superset_url}/api/v1/sqllab/execute/", json=body, timeout=120)

    kpi = f"SELECT count() AS n FROM {marts.analytics_database}.kpi_daily"
    # RLS does not reach SQL Lab (RLS_IN_SQLLAB is off, and marked "may allow RLS bypass"): no SQL Lab.
    refused = execute(f"cur_{MINISTRY}", kpi)
    assert refused.status_code in (401, 403), refused.text[:500]
    assert execute("cur_governor", kpi).status_code in (401, 403)
    assert execute("cur_analyst", kpi).json()["data"][0]["n"] > 0
    assert execute("cur_auditor", kpi).json()["data"][0]["n"] > 0
    # The auditor reads the tables of its datasets only: not a mart that is no dataset.
    outside = execute("cur_auditor", f"SELECT count() FROM {marts.analytics_database}.fct_appeals")
    # (Superset answers this refusal with HTTP 500, its error type says what it is.)
    assert outside.status_code >= 400, outside.text[:500]
    assert outside.json()["errors"][0]["error_type"] == "TABLE_SECURITY_ACCESS_ERROR", outside.text[:500]
    # The analyst reaches what the BI user of ClickHouse may read, and nothing more.
    raw = execute("cur_analyst", f"SELECT count() FROM {marts.clickhouse_database}.rejected_events")
    assert raw.status_code >= 400 and "ACCESS_DENIED" in raw.text, raw.text[:500]


def test_the_data_quality_dashboard_is_for_auditors_not_ministries(marts: Settings, superset_url: str) -> None:
    auditor = _session(marts, superset_url, "cur_auditor")
    rows = chart_data(auditor, superset_url, _chart(auditor, superset_url, "data-quality", "dq_freshness"))
    assert {"Потоки: обращения (cur.appeals)"} <= {r["layer"] for r in rows}
    ministry = _session(marts, superset_url, f"cur_{MINISTRY}")
    listed = ministry.get(f"{superset_url}/api/v1/dashboard/", timeout=60).json()["result"]
    slugs = {d["slug"] for d in listed}
    assert "data-quality" not in slugs and {"ministry", "municipality"} <= slugs


# ---- a real browser ----------------------------------------------------------------------------
def _screenshots(settings: Settings, out: Path, username: str, *slugs: str) -> list[dict[str, Any]]:
    password = settings.superset_admin_password if username == "admin" else _password(settings, username)
    args = [str(BI_PY), str(REPO_ROOT / "superset" / "screenshots.py"), "--out", str(out), "--username", username]
    for slug in slugs:
        args += ["--slug", slug]
    run = subprocess.run(
        args,
        env={**_bi_env(settings), "CUR_SCREENSHOT_PASSWORD": password},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_every_dashboard_renders_in_a_browser_without_a_chart_error(
    marts: Settings, superset_url: str, tmp_path: Path
) -> None:
    report = _screenshots(marts, tmp_path, "admin")
    assert [r["slug"] for r in report] == list(DASHBOARD_SLUGS)
    for seen in report:
        assert seen["charts_seen"] == seen["charts_expected"] > 0, seen
        assert not seen["errors"] and not seen["empty"], seen
        assert Path(seen["screenshot"]).stat().st_size > 20_000, seen


def test_a_ministry_user_sees_its_dashboard_in_a_browser(marts: Settings, superset_url: str, tmp_path: Path) -> None:
    [seen] = _screenshots(marts, tmp_path, f"cur_{MINISTRY}", "ministry")
    assert seen["charts_seen"] == seen["charts_expected"] and not seen["errors"] and not seen["empty"], seen


# ---- a dashboard by mail (Superset's Alerts & Reports) -----------------------------------------------
REPORT_SLUG = "ministry"


def test_an_analyst_subscribes_to_a_dashboard_and_the_mail_carries_its_screenshot(
    marts: Settings, superset_url: str
) -> None:
    """A schedule made through Superset's API, run by its Celery beat and worker (started by infra/test.sh),
    screenshotted in headless Chromium as its owner and mailed through the local SMTP sink."""
    if not _reachable(marts.redis_host, marts.redis_port):
        message = f"Redis not reachable on {marts.redis_host}:{marts.redis_port} (infra/services/redis.sh)"
        if os.environ.get("CUR_E2E_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    analyst = _session(marts, superset_url, "cur_analyst")
    dashboard = analyst.get(f"{superset_url}/api/v1/dashboard/{REPORT_SLUG}", timeout=60).json()["result"]
    name = f"e2e {time.time_ns()}"
    recipient = "analyst@cur.localhost"
    body = {
        "type": "Report",
        "name": name,
        "crontab": "* * * * *",
        "timezone": "UTC",
        "dashboard": dashboard["id"],
        "creation_method": "alerts_reports",
        "report_format": "PNG",
        "active": True,
        "recipients": [{"type": "Email", "recipient_config_json": {"target": recipient}}],
        "working_timeout": 300,
        "log_retention": 1,
    }
    # A ministry may not subscribe (Superset gives schedules to Alpha; roles.py to analysts only).
    ministry = _session(marts, superset_url, f"cur_{MINISTRY}")
    assert ministry.post(f"{superset_url}/api/v1/report/", json=body, timeout=60).status_code in (401, 403)
    created = analyst.post(f"{superset_url}/api/v1/report/", json=body, timeout=60)
    assert created.status_code == 201, created.text[:2000]
    report = f"{superset_url}/api/v1/report/{created.json()['id']}"
    try:
        logs: list[dict[str, Any]] = []

        def finished() -> bool:
            # A new connection each time: gunicorn closes an idle one after 2 s, a poll could reuse it as it closes.
            logs[:] = analyst.get(f"{report}/log/", headers={"Connection": "close"}, timeout=60).json()["result"]
            return any(entry["state"] != "Working" for entry in logs)

        # Beat ticks at every full minute; the screenshot then takes 15-20 s on a busy machine.
        wait_for(finished, timeout=180, what=f"a run of the schedule «{name}»", interval=2)
    finally:
        assert analyst.delete(report, timeout=60).status_code == 200
    [run] = [entry for entry in logs if entry["state"] != "Working"][:1]
    assert run["state"] == "Success", run["error_message"]
    [received] = [m for m in mail.read_sink(marts) if name in m.subject]
    assert received.envelope_to == [recipient]
    assert received.subject.startswith("[ЦУР] ") and dashboard["dashboard_title"] in received.subject
    html = received.message.get_body(preferencelist=("html",)).get_content()
    assert f"{superset_url}/superset/dashboard/" in html and "Открыть в Superset" in html
    [png] = [p.get_content() for p in received.message.walk() if p.get_content_type() == "image/png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width >= 1000 and image.height >= 800, image.size
    assert len(image.getcolors(maxcolors=1 << 24) or []) > 100  # charts, not a blank page
    # A chart that failed shows Superset's error box, filled with #fff0f0 (a third of the page when the
    # marts were missing): none here.
    pixels = numpy.asarray(image, dtype=numpy.int16)
    error_fill = (numpy.abs(pixels - numpy.array((255, 240, 240))) <= 6).all(axis=2).mean()
    assert error_fill < 0.005, f"{error_fill:.1%} of the screenshot is chart error boxes"
