"""Telling the operators about the pipeline's runs: a mail and a row in `cur.operations_log`.

Three kinds of notice (`KINDS`):
- failed: a task failed for good (after its retries), for any reason;
- gated: a critical data check stopped the interval before publication (the reconciliation, the
  quality gate): the task exits with `GATED_EXIT`, and the DAG raises `Gated`;
- recovered: a run published again after a failed or gated one of the same DAG.

The DAG's tasks call `on_task_failure` as their Airflow `on_failure_callback`; the publishing task
calls `notify_recovered`. The mail goes to `CUR_OPERATORS_EMAIL` through cur/mail.py; if it cannot be
sent, the row still records the notice with the error, so an auditor sees what was not delivered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cur import mail
from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.settings import Settings

log = logging.getLogger("cur.alerts")

KINDS: tuple[str, ...] = ("failed", "gated", "recovered")
GATED_EXIT = 3  # exit code of a check that found critical problems in the data (not a crash)
OPERATIONS_COLUMNS = (
    "at",
    "run_id",
    "dag_id",
    "task_id",
    "interval_start",
    "interval_end",
    "kind",
    "message",
    "mailed_to",
    "mail_error",
)
SUBJECTS = {
    "failed": "Сбой конвейера {dag_id}: задача {task_id}, интервал {interval}",
    "gated": "Публикация остановлена проверкой данных: {dag_id}, {task_id}, интервал {interval}",
    "recovered": "Конвейер {dag_id} снова публикует данные: интервал {interval}",
}
EXPLAINED = {
    "failed": "Задача завершилась ошибкой после всех повторных попыток. Витрины за интервал не обновлены.",
    "gated": (
        "Критическая проверка данных не пройдена, поэтому витрины за интервал не опубликованы: отчёты и"
        " дашборды показывают последнее проверенное состояние."
    ),
    "recovered": "Прогон завершился успешно, витрины за интервал опубликованы.",
}


class Gated(RuntimeError):
    """A critical data check failed: the interval is held back (a notice of kind "gated")."""


@dataclass(frozen=True)
class Notice:
    kind: str
    dag_id: str
    task_id: str
    run_id: str
    interval_start: datetime | None
    interval_end: datetime | None
    message: str

    def interval(self, settings: Settings) -> str:
        if self.interval_start is None:
            return "—"
        start = self.interval_start.astimezone(settings.tz)
        end = self.interval_end.astimezone(settings.tz) if self.interval_end else None
        return f"{start:%d.%m.%Y %H:%M}–{end:%d.%m.%Y %H:%M}" if end else f"{start:%d.%m.%Y %H:%M}"

    def subject(self, settings: Settings) -> str:
        return SUBJECTS[self.kind].format(dag_id=self.dag_id, task_id=self.task_id, interval=self.interval(settings))

    def body(self, settings: Settings) -> str:
        lines = [
            EXPLAINED[self.kind],
            "",
            f"DAG: {self.dag_id}",
            f"Задача: {self.task_id}",
            f"Прогон: {self.run_id}",
            f"Интервал (время региона): {self.interval(settings)}",
            "",
            self.message,
            "",
            f"Журнал: {settings.clickhouse_database}.operations_log; Airflow: http://127.0.0.1:{settings.airflow_port}/",
        ]
        return "\n".join(lines)


def notify(settings: Settings, notice: Notice) -> None:
    """Mail the operators, then record the notice (with the mail's error, if it failed)."""
    if notice.kind not in KINDS:
        raise ValueError(f"unknown notice kind {notice.kind!r} (known: {', '.join(KINDS)})")
    error = ""
    try:
        mail.send_mail(
            settings,
            settings.operators_email,
            notice.subject(settings),
            notice.body(settings),
            headers={"X-Cur-Notice": notice.kind, "X-Cur-Run-Id": notice.run_id},
        )
    except Exception as exc:  # the row must be written even when the relay is away
        error = f"{type(exc).__name__}: {exc}"
        log.warning("alert mail not sent: %s", error)
    client = native_client(settings)
    try:
        client.execute(
            f"INSERT INTO {settings.clickhouse_database}.operations_log ({', '.join(OPERATIONS_COLUMNS)}) VALUES",
            [
                (
                    datetime.now(UTC),
                    notice.run_id,
                    notice.dag_id,
                    notice.task_id,
                    notice.interval_start,
                    notice.interval_end,
                    notice.kind,
                    notice.message,
                    settings.operators_email,
                    error,
                )
            ],
        )
    finally:
        client.disconnect()


def _notice(context: dict[str, Any], kind: str, message: str) -> Notice:
    ti = context["ti"]
    dag_run = context.get("dag_run")
    return Notice(
        kind=kind,
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        interval_start=getattr(dag_run, "data_interval_start", None),
        interval_end=getattr(dag_run, "data_interval_end", None),
        message=message,
    )


def on_task_failure(context: dict[str, Any]) -> None:
    """Airflow `on_failure_callback`: a task failed for good; gated when it raised `Gated`."""
    exception = context.get("exception")
    kind = "gated" if isinstance(exception, Gated) else "failed"
    message = f"{type(exception).__name__}: {exception}" if exception is not None else "(no exception recorded)"
    notify(settings_module.load(), _notice(context, kind, message[:20_000]))


def notify_recovered(context: dict[str, Any]) -> bool:
    """From the publishing task: a "recovered" notice when the DAG's latest notice is a failure; True if sent."""
    settings = settings_module.load()
    ti = context["ti"]
    client = native_client(settings)
    try:
        latest = client.execute(
            f"SELECT kind FROM {settings.clickhouse_database}.operations_log WHERE dag_id = %(dag)s"
            " ORDER BY at DESC LIMIT 1",
            {"dag": ti.dag_id},
        )
    finally:
        client.disconnect()
    if not latest or latest[0][0] == "recovered":
        return False
    notify(settings, _notice(context, "recovered", "Предыдущий прогон завершился сбоем или был остановлен проверкой."))
    return True
