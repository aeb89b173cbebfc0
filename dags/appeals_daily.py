"""
### appeals_daily — one regional day of citizen appeals, from raw landings to the KPI mart

Each run covers one day in the region's time zone: the data interval
[`data_interval_start`, `data_interval_end`), midnight to midnight local time, in UTC.

1. **dedup_appeals** — the PySpark job `spark_jobs.dedup_appeals` keeps one row per
   (source, source_id) of the appeals created in the interval and replaces the interval in
   `cur.appeals_dedup`.
2. **link_problems** — the Splink job `spark_jobs.problems.job` links the interval's appeals (with a
   30-day look-back) into cross-channel problems and marks repeats, replacing the interval in
   `cur.problem_links` atomically (`cur.problems` derives one row per problem).
3. **dbt_build** — `dbt build` of `dbt/` for the interval: staging → intermediate → the mart
   `analytics.appeals_sla_daily`, with its tests.
4. **quality_check** — the Great Expectations checkpoint `expectations.run_checkpoint` on the
   interval; the run fails when the data does not meet the expectations.

Every task rewrites its interval and nothing else, so a rerun or a backfill of a day is safe.
Each task runs its tool as a subprocess of the same Python environment (Spark's JVM and dbt
stay out of the task runner's process) and streams its output into the task log.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

log = logging.getLogger("appeals_daily")

REGION_TZ = "Europe/Moscow"  # the default of cur.settings: the region this platform serves
REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _run(command: list[str], what: str) -> list[str]:
    """Run `command` from the repository root, log its output as it comes, return its lines.

    Raises when it exits non-zero, so the task fails (and is retried) with the output in its log.
    """
    log.info("running %s: %s", what, " ".join(command))
    lines: list[str] = []
    with subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if line:
                log.info("%s", line)
                lines.append(line)
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed with exit code {process.returncode}")
    return lines


def _spark_job(module: str, start: datetime, end: datetime, what: str) -> dict:
    """Run a Spark job of spark_jobs/ on the interval; its counts, which it prints as the last JSON line
    on stdout (its log lines go to stderr; spark_jobs/cli.py), are the task's small XCom."""
    output = _run([sys.executable, "-m", module, "--start", _iso_utc(start), "--end", _iso_utc(end)], what)
    return json.loads(next(line for line in reversed(output) if line.startswith("{")))


@dag(
    dag_id="appeals_daily",
    doc_md=__doc__,
    # A data-interval timetable, stated explicitly: a bare "@daily" means CronTriggerTimetable in
    # Airflow 3 (no interval, just a point in time). Midnight to midnight in the region.
    schedule=CronDataIntervalTimetable("@daily", timezone=REGION_TZ),
    start_date=pendulum.datetime(2026, 11, 1, tz=REGION_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["appeals", "kpi", "daily"],
    default_args={
        "owner": "cur-data",
        "retries": 2,  # a transient ClickHouse or Spark failure; 1 then 2 minutes apart
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
    },
)
def appeals_daily() -> None:
    @task(execution_timeout=timedelta(minutes=30))
    def dedup_appeals(data_interval_start: datetime | None = None, data_interval_end: datetime | None = None) -> dict:
        """Spark dedup of the interval into cur.appeals_dedup; returns the counts (a small XCom)."""
        assert data_interval_start is not None and data_interval_end is not None
        return _spark_job("spark_jobs.dedup_appeals", data_interval_start, data_interval_end, "the Spark dedup job")

    @task(execution_timeout=timedelta(minutes=30))
    def link_problems(data_interval_start: datetime | None = None, data_interval_end: datetime | None = None) -> dict:
        """Cross-channel problems of the interval into cur.problem_links; returns the counts (a small XCom)."""
        assert data_interval_start is not None and data_interval_end is not None
        return _spark_job("spark_jobs.problems.job", data_interval_start, data_interval_end, "the linkage job")

    @task(execution_timeout=timedelta(minutes=30))
    def dbt_build(data_interval_start: datetime | None = None, data_interval_end: datetime | None = None) -> None:
        """Build and test the dbt project for the interval."""
        assert data_interval_start is not None and data_interval_end is not None
        interval = {"interval_start": _iso_utc(data_interval_start), "interval_end": _iso_utc(data_interval_end)}
        project = str(REPO_ROOT / "dbt")
        _run(
            [
                str(VENV_BIN / "dbt"),
                "build",
                "--project-dir",
                project,
                "--profiles-dir",
                project,
                "--vars",
                json.dumps(interval),
            ],
            "dbt build",
        )

    @task(execution_timeout=timedelta(minutes=15))
    def quality_check(data_interval_start: datetime | None = None, data_interval_end: datetime | None = None) -> None:
        """Run the Great Expectations checkpoint on the interval; fail when it fails."""
        assert data_interval_start is not None and data_interval_end is not None
        _run(
            [
                sys.executable,
                "-m",
                "expectations.run_checkpoint",
                "--start",
                _iso_utc(data_interval_start),
                "--end",
                _iso_utc(data_interval_end),
            ],
            "the Great Expectations checkpoint",
        )

    dedup_appeals() >> link_problems() >> dbt_build() >> quality_check()


appeals_daily()
