"""Run the platform on demo data: publish a few days of every feed, let the stream workers land
them, run the daily DAG for the days under the Airflow scheduler (a backfill), and print what a user
would look at first.

Called by `make demo` after every service is up (infra/demo.sh).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.settings import REPO_ROOT
from infra.airflow_runs import run_days
from streams.generator import generate_day, publish


def wait_until_landed(settings: settings_module.Settings, day: date, expected: int, timeout_s: float = 300) -> None:
    client = native_client(settings, database=settings.clickhouse_database)
    query = (
        f"SELECT count() FROM {settings.clickhouse_database}.appeals FINAL"
        f" WHERE toDate(created_at, '{settings.region_tz}') = %(day)s"
    )
    deadline = time.monotonic() + timeout_s
    landed = 0
    while time.monotonic() < deadline:
        landed = client.execute(query, {"day": day})[0][0]
        print(f"\r  {day}: {landed}/{expected} appeals landed in ClickHouse", end="", flush=True)
        if landed >= expected:
            print()
            return
        time.sleep(1)
    raise SystemExit(f"\nonly {landed} of {expected} appeals of {day} landed in {timeout_s:.0f}s: see logs/streams.log")


def wait_until_reconciled(settings: settings_module.Settings, day: date, timeout_s: float = 120) -> None:
    """Until every feed's control total of the day is in and matches what landed (cur.reconcile); the last
    records of a day may still be in flight. If it does not balance, the DAG's first task holds the day."""
    from cur.reconcile import reconcile

    deadline = time.monotonic() + timeout_s
    while True:
        results = reconcile(settings, day)
        balanced = sum(r.ok for r in results)
        print(f"\r  {day}: {balanced}/{len(results)} feeds reconciled with their control totals", end="", flush=True)
        if balanced == len(results):
            print()
            return
        if time.monotonic() > deadline:
            print("\n  " + "\n  ".join(r.detail() for r in results if not r.ok))
            return
        time.sleep(1)


def summary(settings: settings_module.Settings) -> None:
    client = native_client(settings)
    kpi = f"{settings.analytics_database}.kpi_daily"
    share = "if({d} = 0, '—', concat(toString(round(100 * {n} / {d}, 1)), '%'))"
    first = share.format(n="sum(first_answer_met)", d="sum(first_answer_due)")
    fix = share.format(n="sum(resolution_met)", d="sum(resolution_due)")
    columns = (
        f"sum(appeals_received), {first}, sum(first_answer_due), sum(first_answer_pending), {fix},"
        f" sum(resolution_due), sum(resolution_pending)"
    )
    line = "{}: {} appeals; first answer on time {} of {} due ({} pending); fixed on time {} of {} due ({} pending)"
    print(f"\nKPIs ({kpi}, read back from ClickHouse; shares = summed hits / summed due):")
    for row in client.execute(f"SELECT source, {columns} FROM {kpi} GROUP BY source ORDER BY source"):
        print("  " + line.format(*row))
    print("Per ministry:")
    for row in client.execute(
        f"SELECT any(ministry_name_ru), {columns} FROM {kpi} GROUP BY ministry_code ORDER BY ministry_code"
    ):
        print("  " + line.format(*row))
    db = settings.clickhouse_database
    problems, multi, cross, repeats = client.execute(
        f"SELECT count(), countIf(reports > 1), countIf(length(channels) > 1), countIf(is_repeat) FROM {db}.problems"
    )[0]
    print(
        f"Problems ({db}.problems, from {db}.problem_links): {problems}; reported more than once {multi},"
        f" across channels {cross}, repeats of a resolved problem {repeats}"
    )
    rejected = client.execute(f"SELECT count() FROM {settings.clickhouse_database}.rejected_events")[0][0]
    print(f"Rejected raw records kept for operators: {rejected} ({settings.clickhouse_database}.rejected_events)")
    checks, critical, warnings = client.execute(
        f"SELECT count(), countIf(NOT success AND severity = 'critical'),"
        f" countIf(NOT success AND severity != 'critical')"
        f" FROM {db}.bi_dq_latest"
    )[0]
    print(
        f"Data quality ({db}.dq_results, latest of each check in {db}.bi_dq_latest): {checks} checks,"
        f" {critical} critical failures, {warnings} warnings;"
        f" Data Docs http://127.0.0.1:{settings.docs_port}/gx/index.html (dbt docs: /dbt/)"
    )


def publish_dbt_docs(settings: settings_module.Settings) -> None:
    """`dbt docs generate` into the folder the docs server serves under /dbt/ (infra/services/docs.sh):
    the models, their formulas, tests, lineage and exposures, for auditors."""
    project = str(REPO_ROOT / "dbt")
    target = settings.state_dir / "dbt_docs"
    command = [str(Path(sys.executable).with_name("dbt")), "docs", "generate", "--project-dir", project]
    command += ["--profiles-dir", project, "--target-path", str(target)]
    subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    print(f"dbt docs generated into {target} (served at http://127.0.0.1:{settings.docs_port}/dbt/index.html)")


def load_linked_history(
    settings: settings_module.Settings, first_day: date, days: int, per_day: int, seed: int
) -> None:
    """Weeks of history before the streamed days, through the bulk path (not Kafka), linked into problems
    by one backfill run of the linkage job, so the streamed days find earlier problems to repeat."""
    from spark_jobs.problems import job
    from streams.generator.bulk import load_history

    start_day = first_day - timedelta(days=days)
    start = datetime.combine(start_day, datetime.min.time(), tzinfo=settings.tz)
    end = datetime.combine(first_day, datetime.min.time(), tzinfo=settings.tz)
    print(f"bulk-loading {days} days of history from {start_day} ({per_day} appeal lives a day) ...", flush=True)
    loaded = load_history(start_day, [per_day] * days, seed, settings, until=end)
    print(f"  {loaded.total('appeals')} appeals; linking them into problems (one Spark run) ...", flush=True)
    counts = job.run(settings, start, end)
    print(f"  {counts['problems']} problems, {counts['repeat_appeals']} repeat appeals, in {counts['seconds']:.0f}s")


DEMO_SCHEDULE = "Губернатор: каждый понедельник (демо)"


def subscribe_analyst(settings: settings_module.Settings) -> None:
    """One example of Superset's Alerts & Reports: the analyst `cur_analyst` gets the governor's dashboard
    by mail every Monday at 09:00 region time (run by the Celery worker and beat of
    infra/services/superset_worker.sh, mailed through CUR_SMTP_*). Made once, through the REST API."""
    from infra.superset_api import login

    url = f"http://127.0.0.1:{settings.superset_port}"
    user = "cur_analyst"  # superset/roles.py: its password is generated on first use
    password = (settings.state_dir / "secrets" / "superset-users" / f"{user}.password").read_text().strip()
    session = login(url, user, password)
    mine = session.get(f"{url}/api/v1/report/", timeout=60).json()["result"]
    if not any(r["name"] == DEMO_SCHEDULE for r in mine):
        dashboard = session.get(f"{url}/api/v1/dashboard/governor", timeout=60).json()["result"]["id"]
        body = {
            "type": "Report",
            "name": DEMO_SCHEDULE,
            "crontab": "0 9 * * 1",
            "timezone": settings.region_tz,
            "dashboard": dashboard,
            "creation_method": "alerts_reports",
            "report_format": "PNG",
            "active": True,
            "recipients": [{"type": "Email", "recipient_config_json": {"target": "analyst@cur.localhost"}}],
            "working_timeout": 600,
        }
        session.post(f"{url}/api/v1/report/", json=body, timeout=60).raise_for_status()
    print(
        f"Superset Alerts & Reports: «{DEMO_SCHEDULE}» of {user} mails the governor's dashboard to"
        f" analyst@cur.localhost; it arrives in {settings.mail_sink_dir}/ (python -m cur.mail);"
        f" schedules: {url}/report/list/ (an analyst may add their own there)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=3, help="region-local days to generate, ending yesterday")
    parser.add_argument("--appeals-per-day", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--history-days",
        type=int,
        default=45,
        help="days of history before them, bulk-loaded and linked in one backfill (repeats need weeks)",
    )
    parser.add_argument("--history-appeals-per-day", type=int, default=500)
    args = parser.parse_args()
    settings = settings_module.load()
    today = datetime.now(settings.tz).date()
    days = [today - timedelta(days=n) for n in range(args.days, 0, -1)]
    if args.history_days > 0:
        load_linked_history(settings, days[0], args.history_days, args.history_appeals_per_day, args.seed + 1)
    for day in days:
        # until=now: the status changes that would follow these appeals after "now" are not sent yet.
        generated = generate_day(day, args.appeals_per_day, args.seed, settings.tz, until=datetime.now(UTC))
        asyncio.run(publish(generated.events, settings))
        expected = generated.truth.appeals_per_day()[day]
        print(f"published {len(generated.events)} raw events of {day} ({expected} distinct appeals)")
        wait_until_landed(settings, day, expected)
        wait_until_reconciled(settings, day)
    started = time.monotonic()
    print(f"running DAG appeals_daily for {days[0]} .. {days[-1]} under the Airflow scheduler ...", flush=True)
    runs = run_days(days, show=lambda line: print(line, flush=True))
    failed = [f"{r.day} ({r.task})" for r in runs if r.state != "success"]
    if failed:
        raise SystemExit(f"appeals_daily failed for {', '.join(failed)}: see the Airflow UI")
    print(f"  {len(runs)} runs done in {time.monotonic() - started:.0f}s (Airflow UI: Dags → appeals_daily → Runs)")
    publish_dbt_docs(settings)
    summary(settings)
    subscribe_analyst(settings)


if __name__ == "__main__":
    main()
