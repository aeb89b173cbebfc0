"""A GX 1.x ValidationAction that writes every expectation result of a checkpoint run to ClickHouse.

GX 1.x has no supported SQL results store; auditors need the results where they query everything else.
Each result becomes one row of `{db}.dq_results` (migration 0009): run id, suite, expectation, layer,
interval, severity, success, observed value, counts. The table is a ReplacingMergeTree keyed by
(run_id, checkpoint, suite, expectation_id): writing a run again (a retried task keeps its run id)
replaces its rows instead of adding to them (read with FINAL).

The class registers itself with GX under `type: clickhouse_results` when this module is imported:
`expectations.context.open_context` imports it before the checkpoints are loaded.
The runner binds the interval and the settings (`bind`); unbound, the action reads the settings
itself and writes no interval.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from great_expectations.checkpoint import ValidationAction
from great_expectations.compatibility.pydantic import PrivateAttr

from cur import settings as cur_settings
from cur.clickhouse import native_client
from cur.settings import Settings

if TYPE_CHECKING:
    from great_expectations.checkpoint.actions import ActionContext
    from great_expectations.checkpoint.checkpoint import CheckpointResult

COLUMNS = (
    "run_id",
    "run_at",
    "checkpoint",
    "suite",
    "layer",
    "expectation_id",
    "expectation_type",
    "expectation_kwargs",
    "column_name",
    "interval_start",
    "interval_end",
    "severity",
    "success",
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "unexpected_examples",
    "exception_message",
)


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _columns(kwargs: dict[str, Any]) -> str:
    names = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *kwargs.get("column_list", [])]
    return ", ".join(n for n in names if n)


def _exception(info: dict[str, Any] | None) -> str:
    """GX gives exception_info flat or keyed by metric: the first message raised, '' when none."""
    if not info:
        return ""
    if "raised_exception" in info:
        return str(info.get("exception_message") or "") if info["raised_exception"] else ""
    return next((_exception(v) for v in info.values() if isinstance(v, dict) and _exception(v)), "")


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


class ClickHouseResultsAction(ValidationAction):
    type: Literal["clickhouse_results"] = "clickhouse_results"
    table: str = "dq_results"  # in the canonical database of the settings

    _settings: Settings | None = PrivateAttr(default=None)
    _interval: tuple[datetime, datetime] | None = PrivateAttr(default=None)

    def bind(self, settings: Settings, start: datetime, end: datetime) -> None:
        self._settings, self._interval = settings, (start, end)

    def rows(self, checkpoint_result: CheckpointResult) -> list[tuple[Any, ...]]:
        run_id = checkpoint_result.run_id
        run_name = run_id.run_name or run_id.to_id()
        run_at = (run_id.run_time or datetime.now(UTC)).astimezone(UTC)
        start, end = self._interval or (None, None)
        checkpoint = checkpoint_result.checkpoint_config.name
        rows = []
        for validation in checkpoint_result.run_results.values():
            suite = validation.suite_name
            for result in validation.results:
                config = result.expectation_config
                details = result.result or {}
                kwargs = {k: v for k, v in config.kwargs.items() if k != "batch_id"}
                rows.append(
                    (
                        run_name,
                        run_at,
                        checkpoint,
                        suite,
                        (config.meta or {}).get("layer", ""),
                        config.id or hashlib.sha1(_json([config.type, kwargs]).encode()).hexdigest(),
                        config.type,
                        _json(kwargs),
                        _columns(kwargs),
                        start,
                        end,
                        str(getattr(config.severity, "value", config.severity) or "critical"),
                        bool(result.success),
                        _json(details.get("observed_value")),
                        _count(details.get("element_count")),
                        _count(details.get("unexpected_count")),
                        details.get("unexpected_percent"),
                        _json(list(details.get("partial_unexpected_list") or [])[:10]),
                        _exception(result.exception_info),
                    )
                )
        return rows

    def run(self, checkpoint_result: CheckpointResult, action_context: ActionContext | None = None) -> dict:
        rows = self.rows(checkpoint_result)
        write(self._settings or cur_settings.load(), rows, self.table)
        return {"rows": len(rows)}


def write(settings: Settings, rows: list[tuple[Any, ...]], table: str = "dq_results") -> None:
    if not rows:
        return
    client = native_client(settings)
    try:
        client.execute(f"INSERT INTO {settings.clickhouse_database}.{table} ({', '.join(COLUMNS)}) VALUES", rows)
    finally:
        client.disconnect()


def could_not_run(
    settings: Settings,
    run_id: str,
    run_at: datetime,
    suite: str,
    layer: str,
    interval: tuple[datetime, datetime],
    message: str,
) -> None:
    """A suite whose frame could not be read or whose checkpoint failed to run: one critical row, so the
    audit trail shows it (the gate exits 2 and the task is retried)."""
    row = (run_id, run_at, suite, suite, layer, "could_not_run", "could_not_run", "{}", "", *interval)
    write(settings, [(*row, "critical", False, "", None, None, None, "", message[:2000])])
