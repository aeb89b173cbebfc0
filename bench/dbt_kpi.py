"""`dbt build` of the KPI models on large histories: a full refresh and one incremental day with its look-back.

    bash bench/run.sh dbt_kpi --appeals 1000000 --appeals 10000000

The history is the generator's own (bulk path, `streams.generator.bulk`): one base of `--base-days` days
is generated once into `<db>_base`, and each size is made from it by ClickHouse itself, copying every
appeal and its status events with its dates shifted by whole multiples of the base's length and a
copy number appended to its ids (`INSERT … SELECT`, minutes instead of the hours the generator needs for
10 M on this machine). The shapes, feeds, deadlines and lifecycles are the generator's; the copies only
repeat them over more days and, beyond one copy per period, more appeals per day. Problem links are
not copied (every appeal is its own problem), so the linkage job is not part of what is timed.

Per size it prints: the full refresh (`dbt build --full-refresh`, seeds and tests included), one
incremental day (the DAG's command: its day plus the 40-day look-back, the interval in the environment
as the DAG passes it) for the last busy day (the last with at least half the median day's appeals: the
copies' last days hold only the base's late stragglers, a few dozen appeals, which is no day the DAG
sees) and for the very last day, and the baseline measured in the same run: the same `dbt build` on an
empty canonical table, which is dbt's own fixed cost (start-up, parse, seeds, DDL, tests), so `ratio`
says how much the data adds to it. A size already made (same number of copies) is kept: `--remake`
makes it again. After each build the slowest nodes of dbt's run_results.json are printed to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import REPO_ROOT

BASE_START = date(2026, 5, 1)


def dbt_build(settings: settings_module.Settings, *, full: bool, end: datetime, start: datetime | None) -> float:
    """One `dbt build` as the DAG runs it (the interval in CUR_DBT_INTERVAL_*); its wall time in seconds."""
    target = settings.state_dir / "dbt-bench" / "target"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CUR_DBT_")},
        "CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "CUR_ANALYTICS_DATABASE": settings.analytics_database,
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(settings.state_dir / "dbt-bench" / "logs"),
        "CUR_DBT_INTERVAL_END": end.astimezone(UTC).isoformat(),
        # evaluated as of the interval's end, as the DAG's run right after its day is: the copies' dates
        # run a year ahead of the clock, and as of "now" their answers and closings would not count
        "CUR_DBT_AS_OF": end.astimezone(UTC).isoformat(),
    }
    if start is not None:
        env["CUR_DBT_INTERVAL_START"] = start.astimezone(UTC).isoformat()
    project = str(REPO_ROOT / "dbt")
    command = [str(os.path.join(os.path.dirname(sys.executable), "dbt")), "build", "--project-dir", project]
    command += ["--profiles-dir", project] + (["--full-refresh"] if full else [])
    began = time.monotonic()
    result = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - began
    if result.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{result.stdout[-3000:]}")
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))
    slowest = sorted(results["results"], key=lambda r: -r["execution_time"])[:6]
    print(
        f"  {settings.clickhouse_database} {'full' if full else 'day'}: {seconds:.1f} s wall,"
        f" {results['elapsed_time']:.1f} s in dbt, load {os.getloadavg()[0]:.1f}; slowest: "
        + ", ".join(f"{r['unique_id'].split('.')[-1][:40]} {r['execution_time']:.1f}" for r in slowest),
        file=sys.stderr,
    )
    return seconds


def ensure_base(settings: settings_module.Settings, days: int, per_day: int, seed: int) -> None:
    from streams.generator.bulk import load_history

    client = native_client(settings)
    migrate(settings)
    have = client.execute(f"SELECT count() FROM {settings.clickhouse_database}.appeals")[0][0]
    if have:
        print(f"base {settings.clickhouse_database}: {have:,} appeal rows (kept)", file=sys.stderr)
        return
    # every lifecycle event of the base's appeals is sent: late answers and reopens included
    until = datetime.combine(BASE_START + timedelta(days=days + 90), datetime.min.time(), tzinfo=settings.tz)
    load_history(BASE_START, [per_day] * days, seed, settings, until=until, workers=1)


def make_size(
    base: settings_module.Settings, target: settings_module.Settings, appeals: int, period_days: int, remake: bool
) -> tuple[int, date]:
    """Copies of the base into `target`, shifted by whole periods: the first copies fill later periods,
    the next ones the same periods again with other ids. Returns (canonical appeals, last day)."""
    client = native_client(base)
    src, dst = base.clickhouse_database, target.clickhouse_database
    per_copy = client.execute(f"SELECT count() FROM {src}.appeals FINAL")[0][0]
    copies = max(1, round(appeals / per_copy))
    if not remake and client.execute(f"EXISTS TABLE {dst}.appeals_dedup")[0][0]:
        total, last = client.execute(
            f"SELECT count(), toDate(max(created_at), '{base.tz.key}') FROM {dst}.appeals_dedup FINAL"
        )[0]
        if total and round(total / per_copy) == copies:
            migrate(target)  # migrations added since it was made
            print(f"kept {total:,} appeals in {dst} ({copies} copies)", file=sys.stderr)
            return total, last
    client.execute(f"DROP DATABASE IF EXISTS {dst} SYNC")
    client.execute(f"DROP DATABASE IF EXISTS {target.analytics_database} SYNC")
    migrate(target)
    periods = min(copies, max(1, round(365 / period_days)))
    shifts = ", ".join(f"({i % periods}, {i})" for i in range(copies))
    appeal_columns = [
        name
        for (name,) in client.execute(
            f"SELECT name FROM system.columns WHERE database = '{src}' AND table = 'appeals' ORDER BY position"
        )
    ]
    event_columns = [
        name
        for (name,) in client.execute(
            f"SELECT name FROM system.columns WHERE database = '{src}'"
            " AND table = 'appeal_status_events' ORDER BY position"
        )
    ]

    def moved(columns: list[str], times: set[str]) -> str:
        out = []
        for name in columns:
            if name in times:
                out.append(f"{name} + toIntervalDay(copy.1 * {period_days}) AS {name}")
            elif name == "source_id":
                # the feeds' ids carry their day (20260501003995, 112-40-20260501000084, ГЖИ-20260501/03336):
                # it moves with the copy, so ids grow with time as the feeds' own do and a period's appeals
                # are contiguous in the tables' (source, source_id) order, as real ones are
                out.append(
                    "concat(replaceRegexpOne(source_id, '\\\\d{8}', formatDateTime(parseDateTime(extract(source_id,"
                    f" '\\\\d{{8}}'), '%Y%m%d') + toIntervalDay(copy.1 * {period_days}), '%Y%m%d')),"
                    " if(copy.2 = 0, '', concat('~', toString(copy.2)))) AS source_id"
                )
            elif name == "appeal_id":
                out.append("if(copy.2 = 0, appeal_id, reinterpretAsUUID(sipHash128(appeal_id, copy.2))) AS appeal_id")
            else:
                out.append(name)
        return ", ".join(out)

    appeal_times = {"created_at", "sla_deadline_at", "first_response_at", "resolve_by", "ingested_at"}
    began = time.monotonic()
    for table, columns, times in (
        ("appeals_dedup", appeal_columns, appeal_times),
        ("appeal_status_events", event_columns, {"event_at", "ingested_at"}),
    ):
        source_table = "appeals" if table == "appeals_dedup" else table
        client.execute(
            f"INSERT INTO {dst}.{table} ({', '.join(columns)}) SELECT {moved(columns, times)}"
            f" FROM {src}.{source_table} FINAL ARRAY JOIN [{shifts}] AS copy",
            settings={"max_partitions_per_insert_block": 10000, "max_insert_threads": 2},
        )
    client.execute(f"OPTIMIZE TABLE {dst}.appeal_state_agg FINAL")
    total, last = client.execute(
        f"SELECT count(), toDate(max(created_at), '{base.tz.key}') FROM {dst}.appeals_dedup FINAL"
    )[0]
    print(f"made {total:,} appeals in {dst} ({copies} copies) in {time.monotonic() - began:.0f} s", file=sys.stderr)
    return total, last


def last_busy_day(settings: settings_module.Settings) -> date:
    """The last region-local day with at least half the median day's appeals."""
    return native_client(settings).execute(
        "SELECT max(day) FROM (SELECT toDate(created_at, %(tz)s) AS day, count() AS n"
        f" FROM {settings.clickhouse_database}.appeals_dedup GROUP BY day)"
        f" WHERE n >= (SELECT median(n) / 2 FROM (SELECT count() AS n FROM {settings.clickhouse_database}"
        ".appeals_dedup GROUP BY toDate(created_at, %(tz)s)))",
        {"tz": settings.tz.key},
    )[0][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, action="append", help="history sizes (repeatable), default 1 M")
    parser.add_argument("--base-days", type=int, default=20)
    parser.add_argument("--base-per-day", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="cur_kpibench")
    parser.add_argument("--remake", action="store_true", help="make each size again even when it exists")
    args = parser.parse_args()
    settings = settings_module.load()
    base = replace(settings, clickhouse_database=f"{args.database}_base", analytics_database=f"{args.database}_base_a")
    ensure_base(base, args.base_days, args.base_per_day, args.seed)

    empty = replace(
        settings, clickhouse_database=f"{args.database}_empty", analytics_database=f"{args.database}_empty_a"
    )
    native_client(settings).execute(f"DROP DATABASE IF EXISTS {empty.analytics_database} SYNC")
    migrate(empty)
    day_end = datetime(2026, 1, 1, tzinfo=UTC)
    baseline_full = dbt_build(empty, full=True, end=day_end, start=None)
    baseline_day = dbt_build(empty, full=False, end=day_end, start=day_end - timedelta(days=1))
    print("=== dbt build of the KPI models ===")
    print(
        f"baseline (empty canonical table, dbt's fixed cost): full refresh {baseline_full:.1f} s,"
        f" one day {baseline_day:.1f} s"
    )
    for size in args.appeals or [1_000_000]:
        target = replace(
            settings, clickhouse_database=f"{args.database}_{size}", analytics_database=f"{args.database}_{size}_a"
        )
        total, last = make_size(base, target, size, args.base_days, args.remake)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=settings.tz)
        full = dbt_build(target, full=True, end=end, start=None)
        busy = last_busy_day(target)
        busy_end = datetime.combine(busy + timedelta(days=1), datetime.min.time(), tzinfo=settings.tz)
        day = dbt_build(target, full=False, end=busy_end, start=busy_end - timedelta(days=1))
        tail = dbt_build(target, full=False, end=end, start=end - timedelta(days=1))
        print(
            f"{total:>12,} appeals: full refresh {full:6.1f} s (ratio to baseline {full / baseline_full:4.1f});"
            f" one incremental day + 40-day look-back: busy {busy} {day:5.1f} s (ratio {day / baseline_day:4.1f}),"
            f" last {last} {tail:5.1f} s (ratio {tail / baseline_day:4.1f})"
        )


if __name__ == "__main__":
    main()
