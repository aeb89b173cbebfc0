"""The data-quality gate's verdict on a report week, read from `cur.dq_results` (issue 9, migration 0009).

The gate checks each regional day (interval) and records every expectation's result (a run id's rows
are replaced when it is written again, hence FINAL). A week is:
- `failed` when the latest run of any checkpoint of any of its days has a critical failure: its
  reports are held back and the operators are told;
- `passed` when each of its seven days was checked and none failed;
- `partial` when some days were never checked (the report goes out and says which);
- `unknown` when there is no result table (or none of its days was checked): the report goes out
  and says «нет данных о проверке».
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from clickhouse_driver import Client

from cur.settings import Settings

STATUSES = ("passed", "failed", "partial", "unknown")
CRITICAL = ("critical",)  # dq_results.severity values that stop publication
NEEDED_COLUMNS = {"interval_start", "run_at", "severity", "success"}
LABELS = {
    "passed": "проверка качества данных пройдена за все дни недели",
    "failed": "проверка качества данных не пройдена",
    "partial": "проверка качества данных пройдена, но проведена не за все дни недели",
    "unknown": "нет данных о проверке",
}


@dataclass(frozen=True)
class Gate:
    status: str  # one of STATUSES
    days_checked: tuple[date, ...] = ()
    failed_days: tuple[date, ...] = ()
    critical_failures: int = 0
    warnings: int = 0
    detail: str = ""
    failures: tuple[str, ...] = field(default=())  # "suite: expectation" of the critical failures, for operators

    @property
    def label(self) -> str:
        return LABELS[self.status]

    @property
    def blocks(self) -> bool:
        return self.status == "failed"


def week_gate(client: Client, settings: Settings, week_start: date) -> Gate:
    db = settings.clickhouse_database
    columns = {
        name
        for (name,) in client.execute(
            "SELECT name FROM system.columns WHERE database = %(db)s AND table = 'dq_results'", {"db": db}
        )
    }
    if not columns:
        return Gate("unknown", detail=f"таблица {db}.dq_results отсутствует")
    if not columns >= NEEDED_COLUMNS:
        missing = ", ".join(sorted(NEEDED_COLUMNS - columns))
        return Gate("unknown", detail=f"в {db}.dq_results нет столбцов {missing}")
    partition = "day, checkpoint" if "checkpoint" in columns else "day"  # each checkpoint's latest run counts
    what = "concat(suite, ': ', expectation_type)" if {"suite", "expectation_type"} <= columns else "''"
    failure = "severity IN %(critical)s AND NOT success"
    rows = client.execute(
        f"SELECT day, countIf({failure}), countIf(severity NOT IN %(critical)s AND NOT success),"
        f" arrayFilter(x -> x != '', groupUniqArrayIf({what}, {failure}))"
        f" FROM (SELECT *, toDate(interval_start, '{settings.region_tz}') AS day,"
        f" max(run_at) OVER (PARTITION BY {partition}) AS last_run FROM {db}.dq_results FINAL"
        " WHERE interval_start IS NOT NULL AND day BETWEEN %(first)s AND %(last)s)"
        " WHERE run_at = last_run GROUP BY day ORDER BY day",
        {"critical": CRITICAL, "first": week_start, "last": week_start + timedelta(days=6)},
    )
    checked = tuple(r[0] for r in rows)
    failed = tuple(r[0] for r in rows if r[1])
    gate = {
        "days_checked": checked,
        "failed_days": failed,
        "critical_failures": sum(r[1] for r in rows),
        "warnings": sum(r[2] for r in rows),
        "failures": tuple(sorted({f for r in rows for f in r[3]})),
    }
    if failed:
        return Gate("failed", **gate)
    if not checked:
        return Gate("unknown", detail="за дни недели результатов проверки нет", **gate)
    if len(checked) < 7:
        return Gate("partial", **gate)
    return Gate("passed", **gate)
