"""Run the `appeals_daily` DAG for regional days under the scheduler, as in production (the demo and the tests).

The DAG is unpaused and the days are a backfill created through Airflow's REST API (`POST
/api/v2/backfills`): the scheduler creates one run per day, runs its tasks with the LocalExecutor,
and the UI shows them as backfill runs with their durations. This waits for the backfill to complete,
printing each run's progress (its state and the task it is in), then raises if a run did not succeed.

A backfill run of day D has the logical date D 00:00 in the region's time zone and the data interval
[D 00:00, D+1 00:00) local, as a scheduled run of D would; tasks only ever use the data interval.
Unpaused, the scheduler also makes its own scheduled run of the latest complete day (catchup is off):
in the demo that is yesterday, one of its days; on a test stack whose data is of another day, that run
finds no control totals for yesterday and is gated by its first task (cur/alerts.py notices).

Login: the stack's `admin` (password in <state>/airflow/passwords.json, as infra/services/airflow.sh
generates it), exchanged for a JWT at `/auth/token`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock

import requests

from cur import settings as settings_module
from cur.settings import Settings

DAG_ID = "appeals_daily"
POLL_S = 5.0
DONE = ("success", "failed")


def logical_date_for_day(local_day: date, settings: Settings | None = None) -> datetime:
    """The logical date of the scheduled (or backfill) run whose data interval is the regional day."""
    tz = (settings or settings_module.load()).tz
    return datetime.combine(local_day, clock(0, 0), tzinfo=tz)


class AirflowApi:
    """The stack's Airflow REST API (v2), logged in as its admin."""

    def __init__(self, settings: Settings) -> None:
        self.base = f"http://127.0.0.1:{settings.airflow_port}"
        passwords = json.loads((settings.state_dir / "airflow" / "passwords.json").read_text(encoding="utf-8"))
        response = requests.post(
            f"{self.base}/auth/token", json={"username": "admin", "password": passwords["admin"]}, timeout=30
        )
        response.raise_for_status()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: object) -> dict:
        response = self.session.request(method, f"{self.base}/api/v2{path}", timeout=60, **kwargs)  # type: ignore[arg-type]
        if response.status_code >= 400:
            raise RuntimeError(f"Airflow API {method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else {}

    def wait_for_dag(self, timeout: float = 300) -> None:
        """Until the DAG processor has parsed the DAG (a fresh stack needs a minute)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.session.get(f"{self.base}/api/v2/dags/{DAG_ID}", timeout=30)
            if response.status_code == 200:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the DAG {DAG_ID} did not appear in Airflow within {timeout:.0f}s")
            time.sleep(POLL_S)


@dataclass(frozen=True)
class RunState:
    day: date
    run_id: str
    state: str
    seconds: float | None
    task: str  # the task it is in, or the first one that failed


def _progress(api: AirflowApi, runs: list[dict], settings: Settings) -> list[RunState]:
    states = []
    for run in runs:
        day = datetime.fromisoformat(run["logical_date"]).astimezone(settings.tz).date()
        tasks = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
        busy = [t["task_id"] for t in tasks if t["state"] in ("running", "queued", "up_for_retry", "scheduled")]
        # the task that failed, not one that only did not run because of it (the API's order is not the DAG's)
        failed = [t["task_id"] for t in tasks if t["state"] == "failed"]
        failed += [t["task_id"] for t in tasks if t["state"] == "upstream_failed"]
        seconds = run.get("duration")
        states.append(RunState(day, run["dag_run_id"], run["state"], seconds, (failed or busy or [""])[0]))
    return states


def task_durations(api: AirflowApi, run_id: str) -> str:
    """Each task's state and seconds in the run, in the DAG's order (what the UI's grid shows)."""
    tasks = api.call("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances")["task_instances"]
    tasks.sort(key=lambda t: t.get("start_date") or "9999")
    return ", ".join(
        f"{t['task_id']} {t['duration']:.0f}s" if t.get("duration") else f"{t['task_id']} {t['state']}" for t in tasks
    )


def run_days(days: Sequence[date], *, timeout: float = 3600, show: Callable[[str], None] = print) -> list[RunState]:
    """Backfill `days` (consecutive or not: the range from the first to the last), wait, return each run."""
    settings = settings_module.load()
    api = AirflowApi(settings)
    api.wait_for_dag()
    first, last = logical_date_for_day(min(days), settings), logical_date_for_day(max(days), settings)
    backfill = api.call(
        "POST",
        "/backfills",
        json={
            "dag_id": DAG_ID,
            "from_date": first.isoformat(),
            "to_date": last.isoformat(),
            "reprocess_behavior": "completed",  # a day already run is run again (its tasks rewrite it)
            "max_active_runs": 1,
        },
    )
    # Unpaused after the backfill exists: the scheduler's own run of the latest day, if that day is in
    # the range, is then the backfill's (one run per logical date), not a second one racing it.
    api.call("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    show(f"backfill {backfill['id']} of {DAG_ID}: {min(days)} .. {max(days)}, through the scheduler")
    deadline = time.monotonic() + timeout
    params = {"logical_date_gte": first.isoformat(), "logical_date_lte": last.isoformat(), "order_by": "logical_date"}
    last_line = ""
    while True:
        runs = api.call("GET", f"/dags/{DAG_ID}/dagRuns", params=params)["dag_runs"]  # one per logical date
        states = _progress(api, runs, settings)
        line = "; ".join(
            f"{s.day}: {s.state}"
            + (f" ({s.task})" if s.task and s.state != "success" else "")
            + (f" in {s.seconds:.0f}s" if s.seconds and s.state in DONE else "")
            for s in states
        )
        if line != last_line:
            show(f"  {line}")
            last_line = line
        if api.call("GET", f"/backfills/{backfill['id']}").get("completed_at") and all(s.state in DONE for s in states):
            for run in runs:
                show(f"  {run['dag_run_id']}: {task_durations(api, run['dag_run_id'])}")
            return states
        if time.monotonic() > deadline:
            raise RuntimeError(f"backfill {backfill['id']} not done within {timeout:.0f}s: {line}")
        time.sleep(POLL_S)


def run_dag_for_day(local_day: date, timeout: float = 1800) -> None:
    """Run `appeals_daily` for one regional day under the scheduler; raise if the run did not succeed
    (a failing task is retried as the DAG says, 1 then 2 minutes later, before the run fails)."""
    [state] = [s for s in run_days([local_day], timeout=timeout) if s.day == local_day]
    if state.state != "success":
        raise RuntimeError(f"{DAG_ID} for {local_day}: {state.state} (task {state.task}, run {state.run_id})")


def main() -> None:
    """`python -m infra.airflow_runs 2026-11-20 2026-11-21`: backfill those days and wait."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("days", nargs="+", type=date.fromisoformat)
    args = parser.parse_args()
    failed = [s for s in run_days(args.days) if s.state != "success"]
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
