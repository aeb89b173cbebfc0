"""Benchmark: the linkage's incremental day at several look-backs, against the first one in the same run.

A problem spans at most the guard's `max_span_days` (longer clusters are split), so a look-back of that
length already holds every earlier report of the day's problems (spark_jobs/problems/config.py refuses
a shorter one); a longer look-back costs time in proportion to the appeals it reads. This measures it:
on a history that `bench.linkage` loaded and linked (its database, kept), the last day is linked once
per look-back, each in its own process and JVM as the DAG runs it. For each: wall time, peak memory, the
appeals in the window, and how many of the day's appeals got another problem id or another repeat mark
than under the first look-back (the baseline), with the ratio of the times.

    bash bench/run.sh linkage --size 100000:30                                       # loads and links
    bash bench/run.sh linkage_window --size 100000:30 --lookback 30 --lookback 10   # then this
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from datetime import datetime, timedelta
from datetime import time as clock

from bench.linkage import START_DAY, Size, log, parse_size, run_job
from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.settings import Settings


def day_links(settings: Settings, start: datetime, end: datetime) -> dict[str, tuple[str, bool]]:
    """appeal id -> (problem id, is repeat) of the appeals created in [start, end)."""
    from spark_jobs.clickhouse_io import utc_interval

    client = native_client(settings)
    try:
        rows = client.execute(
            f"SELECT toString(appeal_id), toString(problem_id), is_repeat FROM {settings.clickhouse_database}"
            f".problem_links WHERE {utc_interval('created_at', start, end)}"
        )
    finally:
        client.disconnect()
    return {appeal: (problem, bool(repeat)) for appeal, problem, repeat in rows}


def run_day(start: datetime, end: datetime, lookback_days: int) -> None:
    """The job for [start, end) with another look-back (this process is the job's own)."""
    import logging

    from spark_jobs.problems import job
    from spark_jobs.problems.config import load_config

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = replace(load_config(), lookback_days=lookback_days)
    print(json.dumps(job.run(settings_module.load(), start, end, config=config)), flush=True)


def measure(base: Settings, size: Size, lookbacks: list[int]) -> list[dict]:
    settings = replace(base, clickhouse_database=size.database)
    end = datetime.combine(START_DAY + timedelta(days=size.days), clock(0), tzinfo=settings.tz)
    start = end - timedelta(days=1)
    client = native_client(settings)
    try:
        linked = client.execute(f"SELECT count() FROM {size.database}.problem_links")[0][0]
    finally:
        client.disconnect()
    if not linked:
        raise SystemExit(
            f"{size.database} has no links: run `bash bench/run.sh linkage --size {size.appeals}:{size.days}`"
        )
    results: list[dict] = []
    baseline: dict[str, tuple[str, bool]] = {}
    for days in lookbacks:
        log(f"{size.database}: the day [{start.isoformat()}, {end.isoformat()}) with a {days}-day look-back")
        run = run_job(settings, start, end, "bench.linkage_window", "--run-day", "--lookback", str(days))
        links = day_links(settings, start, end)
        baseline = baseline or links
        shared = links.keys() & baseline.keys()
        run |= {
            "lookback_days": days,
            "day_appeals": len(links),
            "other_problem": sum(links[a][0] != baseline[a][0] for a in shared),
            "other_repeat_mark": sum(links[a][1] != baseline[a][1] for a in shared),
            "missing_vs_baseline": len(baseline.keys() - links.keys()),
        }
        log(f"{days} days: {run}")
        results.append(run)
    return results


def report(results: list[dict]) -> str:
    first = results[0]
    lines = [
        f"{'look-back':>9} {'window':>8} {'day':>6} {'seconds':>8} {'x base':>7} {'MiB':>6}"
        f" {'other problem':>14} {'other repeat':>13}"
    ]
    for r in results:
        lines.append(
            f"{r['lookback_days']:>9} {r['counts']['appeals_in_window']:>8,} {r['day_appeals']:>6,}"
            f" {r['seconds']:>8} {r['seconds'] / first['seconds']:>7.2f} {r['peak_rss_mib']:>6}"
            f" {r['other_problem']:>14,} {r['other_repeat_mark']:>13,}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=Size(100_000, 30), help="APPEALS:DAYS of bench.linkage")
    parser.add_argument("--lookback", type=int, action="append", help="days, repeatable; the first is the baseline")
    parser.add_argument("--run-day", action="store_true", help=argparse.SUPPRESS)  # one job run (own process)
    parser.add_argument("--start", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--end", type=datetime.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    lookbacks = args.lookback or [30, 10]
    if args.run_day:
        run_day(args.start, args.end, lookbacks[0])
        return
    results = measure(settings_module.load(), args.size, lookbacks)
    print(json.dumps(results), flush=True)
    print(report(results), flush=True)


if __name__ == "__main__":
    main()
