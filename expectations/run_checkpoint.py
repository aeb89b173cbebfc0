"""Validate the canonical appeals of one data interval with the committed GX checkpoint.

Why a pandas datasource fed by clickhouse-connect rather than GX's SQL datasource: the unit of
validation is a DAG interval, one regional day = [21:00 UTC, 21:00 UTC). GX's SQL batch definitions
split a table only by calendar parts of a column (year/month/day as stored, i.e. UTC days), and a
query asset freezes its SQL in the committed context, so an arbitrary interval would mean rewriting
the context on every run. ClickHouse is also outside GX's tested SQL dialects (a probe through
clickhouse-connect's `clickhousedb://` dialect ran the basic expectations, but nothing guarantees
the rest), and no connection string has to live in the context this way. One interval of appeals
fits in memory easily and is read once, with `FINAL` — exactly the rows dbt reads.

Exit status: 0 = all expectations met, 1 = some failed, 2 = the check could not run.
Results and Data Docs go to `<state dir>/gx/` (see expectations/context.py).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cur import settings as cur_settings
from cur.settings import Settings
from expectations import context as names

if TYPE_CHECKING:
    import pandas as pd

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
# The appeal text is long and no expectation reads it.
_QUERY = """
SELECT * EXCEPT (text)
FROM {table} FINAL
WHERE created_at >= {{start:DateTime64(3, 'UTC')}} AND created_at < {{end:DateTime64(3, 'UTC')}}
ORDER BY source, source_id
"""


@dataclass
class Failure:
    expectation: str
    column: str | None
    unexpected_count: int | None
    element_count: int | None
    observed_value: Any = None
    examples: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        what = self.expectation + (f" on {self.column}" if self.column else "")
        if self.unexpected_count is not None:
            what += f": {self.unexpected_count} of {self.element_count} rows unexpected"
            if self.examples:
                what += f", e.g. {self.examples}"
        elif self.observed_value is not None:
            what += f": observed {self.observed_value}"
        return what


@dataclass
class CheckResult:
    success: bool
    table: str
    start: datetime
    end: datetime
    row_count: int
    evaluated: int
    failures: list[Failure]

    def summary(self) -> str:
        verdict = "PASSED" if self.success else "FAILED"
        lines = [
            f"{verdict}: {self.table} [{self.start.isoformat()}, {self.end.isoformat()}) — {self.row_count} rows, "
            f"{self.evaluated - len(self.failures)}/{self.evaluated} expectations met"
        ]
        lines += [f"  ✗ {failure.describe()}" for failure in self.failures]
        return "\n".join(lines)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no time zone; give the interval in UTC, e.g. ...+00:00")
    return value.astimezone(UTC)


def fetch_interval(settings: Settings, table: str, start: datetime, end: datetime) -> pd.DataFrame:
    """The interval's rows over HTTP with clickhouse-connect, as one DataFrame."""
    import clickhouse_connect

    if not _TABLE_NAME.match(table):
        raise ValueError(f"not a table name: {table!r}")
    client = clickhouse_connect.get_client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_http_port,
        username=settings.clickhouse_user,
        password=settings.clickhouse_password,
    )
    query = _QUERY.format(table=table)
    try:
        frame = client.query_df(query, parameters={"start": start, "end": end})
        if frame.columns.empty:
            # An empty result comes back without columns: keep them, so that only the row count
            # expectation fails and the column expectations are evaluated (vacuously) as usual.
            empty = client.query(f"{query} LIMIT 0", parameters={"start": start, "end": end})
            frame = frame.reindex(columns=list(empty.column_names))
        return frame
    finally:
        client.close()


def _failures(checkpoint_result: Any) -> tuple[int, list[Failure]]:
    evaluated, failures = 0, []
    for validation in checkpoint_result.run_results.values():
        for result in validation.results:
            evaluated += 1
            if result.success:
                continue
            config = result.expectation_config
            details = result.result or {}
            failures.append(
                Failure(
                    expectation=config.type,
                    column=config.kwargs.get("column")
                    or ", ".join(
                        filter(None, [config.kwargs.get("column_A"), config.kwargs.get("column_B")])
                        or config.kwargs.get("column_list", [])
                    )
                    or None,
                    unexpected_count=details.get("unexpected_count"),
                    element_count=details.get("element_count"),
                    observed_value=details.get("observed_value"),
                    examples=list(details.get("partial_unexpected_list") or [])[:5],
                )
            )
    return evaluated, failures


def run(settings: Settings, start: datetime, end: datetime, table: str = names.DEFAULT_TABLE) -> CheckResult:
    """Run the checkpoint on `table` rows created in [start, end); results are stored under the state dir."""
    from great_expectations.core.run_identifier import RunIdentifier

    start, end = _utc(start), _utc(end)
    if start >= end:
        raise ValueError(f"empty interval: {start.isoformat()} >= {end.isoformat()}")
    frame = fetch_interval(settings, table, start, end)
    context = names.open_context(settings)
    checkpoint = context.checkpoints.get(names.CHECKPOINT)
    result = checkpoint.run(
        batch_parameters={"dataframe": frame},
        run_id=RunIdentifier(run_name=f"{table}_{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"),
    )
    evaluated, failures = _failures(result)
    return CheckResult(
        success=bool(result.success),
        table=table,
        start=start,
        end=end,
        row_count=len(frame),
        evaluated=evaluated,
        failures=failures,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expectations.run_checkpoint", description=__doc__.split("\n")[0])
    parser.add_argument("--start", required=True, type=datetime.fromisoformat, help="interval start, ISO-8601 UTC")
    parser.add_argument("--end", required=True, type=datetime.fromisoformat, help="interval end (exclusive)")
    parser.add_argument("--table", default=names.DEFAULT_TABLE, help="database.table (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        outcome = run(cur_settings.load(), args.start, args.end, args.table)
    except Exception as exc:  # any failure to run is reported as "could not run"
        print(f"COULD NOT RUN: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(outcome.summary())
    return 0 if outcome.success else 1


if __name__ == "__main__":
    sys.exit(main())
