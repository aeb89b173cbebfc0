"""
### weekly_reports — each ministry's and municipality's weekly KPI report, by e-mail

Starts when a regional day is **published** (the asset `analytics.published` of `dags/assets.py`:
the day's marts passed the quality gate). A publication of a **Sunday** completes its week, whose
reports are then rendered and sent; the publication of any other day has nothing to report and the
run says so. It can also be run by hand for any week and recipients (params below).

**deliver** runs `python -m reports.deliver` (a subprocess, as the daily DAG runs its tools):
1. reads the week's gate status from `cur.dq_results`: a week that failed is not sent, the
   operators (`CUR_OPERATORS_EMAIL`) are told once instead;
2. renders one PDF and one XLSX per recipient (`reports/recipients.toml`, or `CUR_REPORTS_RECIPIENTS`)
   from the dbt marts into `<state>/reports/<week start>/<recipient>.pdf|xlsx`, replacing earlier files;
3. sends them through `cur/mail.py` (SMTP from the settings) unless `cur.report_deliveries` says they
   were sent already; `resend` sends again.

Params of a manual run: `week` (Monday, `YYYY-MM-DD`; empty: the last complete week), `recipients`
(keys or codes separated by commas, e.g. `ministry-minzdrav,29701000`; empty: all), `resend`.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, dag, get_current_context, task

from dags.assets import PUBLISHED

log = logging.getLogger("weekly_reports")

REGION_TZ = "Europe/Moscow"  # the default of cur.settings: the region this platform serves
REPO_ROOT = Path(__file__).resolve().parent.parent


def _published_sundays(context: Any) -> list[date]:
    """The Sundays among the days whose publication started this run (the asset events' `extra.day`)."""
    days = []
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            day = (event.extra or {}).get("day")
            if day and date.fromisoformat(day).weekday() == 6:
                days.append(date.fromisoformat(day))
    return sorted(set(days))


@dag(
    dag_id="weekly_reports",
    doc_md=__doc__,
    schedule=[PUBLISHED],
    start_date=pendulum.datetime(2026, 11, 1, tz=REGION_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["reports", "kpi", "weekly", "mail"],
    params={
        "week": Param("", type="string", description="Monday of the week, YYYY-MM-DD; empty: the last complete week"),
        "recipients": Param("", type="string", description="recipient keys or codes, comma-separated; empty: all"),
        "resend": Param(False, type="boolean", description="send again reports that were sent already"),
    },
    default_args={
        "owner": "cur-data",
        "retries": 2,  # a transient ClickHouse or SMTP failure; what was sent is not sent again
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": 2.0,
    },
)
def weekly_reports() -> None:
    @task(execution_timeout=timedelta(minutes=30))
    def deliver() -> dict:
        """Render, store and send the week's reports; returns the summary of reports.deliver (a small XCom)."""
        context = get_current_context()
        params = context["params"]
        weeks: list[str] = []
        if params.get("week"):
            weeks = [params["week"]]
        elif context.get("triggering_asset_events"):
            weeks = [(sunday - timedelta(days=6)).isoformat() for sunday in _published_sundays(context)]
            if not weeks:
                log.info("no Sunday among the published days: no week is complete, nothing to send")
                return {"weeks": []}
        command = [sys.executable, "-m", "reports.deliver", "--run-id", str(context["run_id"])]
        for key in filter(None, (k.strip() for k in str(params.get("recipients") or "").split(","))):
            command += ["--recipient", key]
        if params.get("resend"):
            command.append("--resend")
        summaries = []
        for week in weeks or [None]:
            args = [*command, "--week", week] if week else command
            log.info("running %s", " ".join(args))
            result = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
            for line in (result.stderr + result.stdout).splitlines():
                log.info("%s", line)
            if result.returncode != 0:
                raise RuntimeError(f"reports.deliver failed with exit code {result.returncode}")
            summaries.append(json.loads(result.stdout.strip().splitlines()[-1]))
        return {"weeks": [{"week": s["week"], "counts": s["counts"]} for s in summaries]}

    deliver()


weekly_reports()
