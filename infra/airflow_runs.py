"""Run the `appeals_daily` DAG for one regional day on the real services (the demo and the end-to-end tests).

The run goes through `airflow dags test --use-executor` (Airflow's `dag.test()`): a real DAG run
in the metadata database whose tasks the LocalExecutor runs in task processes that report to the
API server's execution API, as under the scheduler, against the real ClickHouse. The CLI is
started through `infra/services/airflow.sh cli`, so it sees exactly the configuration
(AIRFLOW_HOME, metadata database, secrets) of the Airflow services of this stack.

Which logical date: `dag.test(logical_date=X)` gives the run the interval that the timetable infers
for a manual run at X, and for a data-interval timetable that is the last complete interval
*ending* at X (Airflow 3.3, `CronDataIntervalTimetable.infer_manual_data_interval`). So the day D
is covered by the logical date D+1 00:00 in the region's time zone: [D 00:00, D+1 00:00) local.
A scheduled run of day D would carry logical date D 00:00 instead; tasks only ever use the data
interval, never the logical date.
"""

from __future__ import annotations

import subprocess
from datetime import date, datetime, time, timedelta

from cur import settings as settings_module
from cur.settings import REPO_ROOT

DAG_ID = "appeals_daily"
AIRFLOW_SH = REPO_ROOT / "infra" / "services" / "airflow.sh"


def airflow_cli(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The `airflow` CLI of this stack (the environment of infra/services/airflow.sh)."""
    return subprocess.run(
        ["bash", str(AIRFLOW_SH), "cli", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def logical_date_for_day(local_day: date) -> datetime:
    """The logical date whose manual/test run has the data interval of the regional day `local_day`."""
    tz = settings_module.load().tz
    return datetime.combine(local_day + timedelta(days=1), time(0, 0), tzinfo=tz)


def run_dag_for_day(local_day: date, timeout: float = 900) -> None:
    """Run `appeals_daily` for the regional day `local_day`; raise with the CLI's output if it fails.

    Needs the stack's PostgreSQL, ClickHouse and Airflow (its API server) running. A failing task
    is retried as the DAG says (1, then 2 minutes later) before this raises. The DAG is paused
    first (it is paused at creation anyway), so the scheduler never picks up the test run's tasks
    at the same time as the CLI.
    """
    airflow_cli("dags", "pause", DAG_ID, timeout=120)  # fails harmlessly before the first parse
    logical_date = logical_date_for_day(local_day).isoformat()
    result = airflow_cli("dags", "test", DAG_ID, logical_date, "--use-executor", timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"`airflow dags test {DAG_ID} {logical_date}` failed (exit {result.returncode})\n"
            f"--- stdout ---\n{result.stdout[-20000:]}\n--- stderr ---\n{result.stderr[-20000:]}"
        )
