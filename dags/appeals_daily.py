"""
### appeals_daily — one regional day of citizen appeals, from raw landings to the KPI mart

Each run covers one day in the region's time zone: the data interval
[`data_interval_start`, `data_interval_end`), midnight to midnight local time, in UTC.

0. **reconcile_feeds** — `cur.reconcile` for the day's export of every feed: the records each source
   says it sent (its control total) must equal those landed + rejected + filtered, exactly; a mismatch
   holds the day back (a "gated" notice) before anything is rebuilt.
1. **dedup_and_link** — one Spark application (`spark_jobs.daily`) runs two jobs in a row: the dedup
   (`spark_jobs.dedup_appeals`) keeps one row per (source, source_id) of the appeals created in the
   interval and replaces the interval in `cur.appeals_dedup`; then the Splink linkage
   (`spark_jobs.problems.job`) links the interval's appeals (with a 10-day look-back) into
   cross-channel problems and marks repeats, replacing the interval in `cur.problem_links` atomically
   (`cur.problems` derives one row per problem). One task and one session, not two: the split bought
   nothing (the linkage always needs the dedup just before it, and a retry of either reruns both in
   well under their start-up cost), while each Spark task paid its own Python, JVM and session start.
2. **quality_gate** — the Great Expectations suites of the source layers (`expectations.run_checkpoint
   --layers source`: reference data, raw landing per feed, canonical appeals, problems) on the interval,
   results into `cur.dq_results`; a critical failure gates the day, warnings are recorded only.
3. **dbt_build** — `dbt build` of `dbt/` for the interval: staging → intermediate → the KPI marts,
   with the project's tests (severity `error` stops the models downstream of a failed test).
4. **quality_marts** — the KPI-mart suite (`--layers marts`: shares in [0, 1], appeals reconciled with
   the canonical table, no day missing) on what dbt built; a critical failure gates the day.

Why the gate stands *before* the marts are built: a critical failure of the inputs then leaves the
marts that Superset and the reports read exactly as they were (their last good state) at no cost, and
the interval is rebuilt whole by the rerun after the fix. A build into a staging schema and a swap
would also cover defects that dbt itself introduces, but needs a copy of every incremental mart's
history and an exchange per table on every run, for checks that mostly repeat the source gate. The
mart-level checks run after the build: they gate the day's publication (`publish` and the assets
downstream DAGs wait for), but they cannot undo what dbt wrote; within the build, dbt's own tests with
severity `error` keep the models downstream of a failure from being built.

Last, **publish** marks the day published (the asset `analytics.published`, which downstream DAGs
such as the weekly reports are scheduled on) and tells the operators when it follows a failure.
The steps update the assets of `dags/assets.py` (canonical appeals → problems → KPI marts →
published), each event with the day in its `extra`. A task that fails for good mails the operators
and writes `cur.operations_log` (cur/alerts.py): "gated" when a critical data check stopped it (the
reconciliation's or a quality gate's), which fails at once: the same data gives the same verdict.

The results of the checks (`cur.dq_results`, `cur.reconciliation`) are stored under the Airflow run id
and the try (`<run id>@try-<n>`): a rerun of a day keeps its run id, so without the try it would
replace the first run's record that an auditor reads.

Every task rewrites its interval and nothing else, so a rerun or a backfill of a day is safe.
Each task runs its tool as a subprocess of the same Python environment (Spark's JVM and dbt
stay out of the task runner's process) and streams its output into the task log.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from cur import alerts
from dags.assets import CANONICAL_APPEALS, KPI_MARTS, PROBLEMS, PUBLISHED

DAG_ID = "appeals_daily"
log = logging.getLogger(DAG_ID)

REGION_TZ = "Europe/Moscow"  # the default of cur.settings: the region this platform serves
REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _run(command: list[str], what: str, *, gate: bool = False, env: dict[str, str] | None = None) -> list[str]:
    """Run `command` from the repository root, log its output as it comes, return its lines.

    Raises when it exits non-zero, so the task fails (and is retried) with the output in its log; a
    `gate` (a critical data check) exiting with alerts.GATED_EXIT raises alerts.Gated, with its output.
    """
    log.info("running %s: %s", what, " ".join(command))
    lines: list[str] = []
    with subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env={**os.environ, **(env or {})},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip()
            if line:
                log.info("%s", line)
                lines.append(line)
    if gate and process.returncode == alerts.GATED_EXIT:
        raise alerts.Gated(f"{what}: critical check failed\n" + "\n".join(lines[-40:]))
    if process.returncode != 0:
        raise RuntimeError(f"{what} failed with exit code {process.returncode}")
    return lines


class _GatedFinal(alerts.Gated, AirflowFailException):
    """A critical data-quality failure: gated (alerts.on_task_failure says so) and not retried."""


def _gate(command: list[str], what: str) -> None:
    """Run a data check whose critical failure gates the day: at once, no retries (the same data gives
    the same verdict); a check that could not run (any other exit code) is still retried."""
    try:
        _run(command, what, gate=True)
    except alerts.Gated as gated:
        raise _GatedFinal(str(gated)) from gated


def _results_run_id() -> str:
    """The id this try's check results are stored under: the Airflow run id and the try number, so a
    rerun of the day (same run id, next try) adds its record next to the earlier one's."""
    ti = get_current_context()["ti"]
    return f"{ti.run_id}@try-{ti.try_number}"  # not "/": GX names its result files by the run id


def _day_extra(start: datetime, end: datetime) -> dict[str, str]:
    """The `extra` of the day's asset events: which regional day they are about."""
    return {
        "day": start.astimezone(pendulum.timezone(REGION_TZ)).date().isoformat(),
        "interval_start": _iso_utc(start),
        "interval_end": _iso_utc(end),
    }


def _spark_job(module: str, start: datetime, end: datetime, what: str) -> dict:
    """Run a Spark job of spark_jobs/ on the interval; its counts, which it prints as the last JSON line
    on stdout (its log lines go to stderr; spark_jobs/cli.py), are the task's small XCom."""
    output = _run([sys.executable, "-m", module, "--start", _iso_utc(start), "--end", _iso_utc(end)], what)
    return json.loads(next(line for line in reversed(output) if line.startswith("{")))


@dag(
    dag_id=DAG_ID,
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
        "on_failure_callback": alerts.on_task_failure,  # a mail and a cur.operations_log row
    },
)
def appeals_daily() -> None:
    @task(execution_timeout=timedelta(minutes=10))
    def reconcile_feeds(data_interval_start: datetime | None = None, data_interval_end: datetime | None = None) -> None:
        """Every feed's control total against its stored stages (cur.reconcile); gated on a mismatch."""
        assert data_interval_start is not None and data_interval_end is not None
        day = _day_extra(data_interval_start, data_interval_end)["day"]
        _gate(
            [sys.executable, "-m", "cur.reconcile", "--day", day, "--run-id", _results_run_id()],
            "the reconciliation of the feeds",
        )

    @task(execution_timeout=timedelta(minutes=45), outlets=[CANONICAL_APPEALS, PROBLEMS])
    def dedup_and_link(
        data_interval_start: datetime | None = None, data_interval_end: datetime | None = None, outlet_events=None
    ) -> dict:
        """Spark dedup into cur.appeals_dedup, then the linkage into cur.problem_links, in one Spark
        application (spark_jobs/daily.py); returns both jobs' counts (a small XCom)."""
        assert data_interval_start is not None and data_interval_end is not None
        counts = _spark_job("spark_jobs.daily", data_interval_start, data_interval_end, "the Spark dedup and linkage")
        for asset in (CANONICAL_APPEALS, PROBLEMS):  # in this order: the problems are of the canonical appeals
            outlet_events[asset].extra = _day_extra(data_interval_start, data_interval_end)
        return counts

    @task(execution_timeout=timedelta(minutes=30), inlets=[PROBLEMS], outlets=[KPI_MARTS])
    def dbt_build(
        data_interval_start: datetime | None = None, data_interval_end: datetime | None = None, outlet_events=None
    ) -> None:
        """Build and test the dbt project for the interval."""
        assert data_interval_start is not None and data_interval_end is not None
        # The interval goes in the environment, not in --vars: a var that changes on every run makes dbt
        # re-parse the whole project; an environment variable, only the files that read it.
        interval = {
            "CUR_DBT_INTERVAL_START": _iso_utc(data_interval_start),
            "CUR_DBT_INTERVAL_END": _iso_utc(data_interval_end),
        }
        project = str(REPO_ROOT / "dbt")
        _run(
            [str(VENV_BIN / "dbt"), "build", "--project-dir", project, "--profiles-dir", project],
            "dbt build",
            env=interval,
        )
        outlet_events[KPI_MARTS].extra = _day_extra(data_interval_start, data_interval_end)

    def _quality(layers: str, start: datetime | None, end: datetime | None) -> None:
        """The data-quality gate on the interval (expectations/run_checkpoint.py); gated on a critical failure."""
        assert start is not None and end is not None
        command = [sys.executable, "-m", "expectations.run_checkpoint", "--layers", layers]
        command += ["--start", _iso_utc(start), "--end", _iso_utc(end), "--run-id", _results_run_id()]
        _gate(command, f"the data-quality gate ({layers})")

    @task(execution_timeout=timedelta(minutes=15))
    def quality_gate(data_interval_start: datetime | None = None, data_interval_end: datetime | None = None) -> None:
        """The source layers' suites, before the marts are built."""
        _quality("source", data_interval_start, data_interval_end)

    @task(execution_timeout=timedelta(minutes=15))
    def quality_marts(data_interval_start: datetime | None = None, data_interval_end: datetime | None = None) -> None:
        """The KPI marts' suite, after dbt built them and before the day is published."""
        _quality("marts", data_interval_start, data_interval_end)

    @task(execution_timeout=timedelta(minutes=5), inlets=[KPI_MARTS], outlets=[PUBLISHED])
    def publish(
        data_interval_start: datetime | None = None, data_interval_end: datetime | None = None, outlet_events=None
    ) -> None:
        """The day is published (the asset downstream DAGs wait for); a "recovered" notice after a failure."""
        assert data_interval_start is not None and data_interval_end is not None
        outlet_events[PUBLISHED].extra = _day_extra(data_interval_start, data_interval_end)
        if alerts.notify_recovered(get_current_context()):
            log.info("the operators were told that %s publishes again", DAG_ID)

    (
        reconcile_feeds()
        >> dedup_and_link()
        >> quality_gate()  # before the marts are built: a critical failure leaves them as they were
        >> dbt_build()
        >> quality_marts()
        >> publish()
    )


appeals_daily()
