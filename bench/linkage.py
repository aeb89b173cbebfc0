"""Benchmark: the problem linkage job (spark_jobs/problems/job.py) at growing history sizes.

Issue 7's targets on this 2-core machine: 10 M appeals in under 15 minutes with peak memory (JVM and
Python together) under 8 GiB; one incremental day with its 30-day look-back in under 60 s; candidate
pairs growing about linearly with the appeals, not quadratically. For each size:

1. a scratch database made by the real migrations and loaded by the bulk path
   (streams.generator.bulk: the generator's days through the stream workers' normalizers, no Kafka),
   the appeal lives spread evenly over `days`; `--reuse` keeps a database already loaded;
2. the job as the DAG runs it (`python -m spark_jobs.problems.job`, its own process and JVM), once over
   the whole history (a backfill), then once for its last day (the incremental run: the day plus the
   look-back of linkage.toml; bench.linkage_window compares look-backs): wall time, and the peak
   resident memory of the job's process tree (the Python driver and the JVM it starts), sampled every
   0.2 s;
3. the candidate pairs the blocking rules generate over the whole history (Splink's
   `count_comparisons_from_blocking_rules`, exact, in a session of its own, not timed), and the pairs
   the job accepted.

The growth factors between consecutive sizes close the report.

    python -m bench.linkage --size 100000:30 --size 1000000:100        # on the ClickHouse of the settings
    bash bench/run.sh linkage --size 100000:30                         # on the benchmark's own ClickHouse
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as clock
from itertools import pairwise

import psutil

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import Settings

START_DAY = date(2026, 3, 1)
SEED = 7  # the other benchmarks' histories (bench/load_history.sh)


@dataclass(frozen=True)
class Size:
    appeals: int  # appeal lives, spread evenly over the days
    days: int

    @property
    def database(self) -> str:
        return f"cur_bench_linkage_{self.appeals}"


def parse_size(text: str) -> Size:
    appeals, _, days = text.partition(":")
    size = Size(int(appeals), int(days or 30))
    if size.appeals <= 0 or size.days <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: appeals and days must be positive")
    return size


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load(settings: Settings, size: Size, reuse: bool) -> tuple[int, float]:
    """(canonical appeals in the database, load seconds; 0 when reused)."""
    from streams.generator.bulk import load_history

    client = native_client(settings)
    try:
        if reuse:
            exists = client.execute(f"EXISTS TABLE {size.database}.appeals")[0][0]
            if exists and client.execute(f"SELECT count() FROM {size.database}.appeals FINAL")[0][0] > 0:
                return client.execute(f"SELECT count() FROM {size.database}.appeals FINAL")[0][0], 0.0
        began = time.monotonic()
        client.execute(f"DROP DATABASE IF EXISTS {size.database} SYNC")
        client.execute(f"CREATE DATABASE {size.database}")
        migrate(settings)
        until = datetime.combine(START_DAY + timedelta(days=size.days + 30), clock(0), tzinfo=settings.tz)
        load_history(START_DAY, [size.appeals // size.days] * size.days, SEED, settings, until=until)
        return client.execute(f"SELECT count() FROM {size.database}.appeals FINAL")[0][0], time.monotonic() - began
    finally:
        client.disconnect()


def run_job(
    settings: Settings, start: datetime, end: datetime, module: str = "spark_jobs.problems.job", *extra: str
) -> dict:
    """The job in its own process: its counts, wall seconds and the peak RSS of its process tree.

    `module` is run with `--start`, `--end` and `extra` and prints its counts as its last line. Its log
    goes to a file under the state directory (named on failure)."""
    env = {**os.environ, "CLICKHOUSE_DATABASE": settings.clickhouse_database}
    command = [sys.executable, "-m", module, "--start", start.isoformat(), "--end", end.isoformat(), *extra]
    log_dir = settings.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    name = "_".join((settings.clickhouse_database, f"{start:%Y%m%d}", f"{end:%Y%m%d}", *extra)).replace("-", "")
    log_path = log_dir / f"bench_linkage_{name}.log"
    began = time.monotonic()
    job_log = log_path.open("w")
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=job_log, text=True)
    peak = [0]

    def sample() -> None:
        root = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak[0] = max(peak[0], sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = process.communicate()
    seconds = time.monotonic() - began
    sampler.join()
    job_log.close()
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed with exit code {process.returncode} after {seconds:.0f}s (log: {log_path})"
        )
    counts = json.loads(stdout.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(peak[0] / 2**20), "counts": counts}


def blocked_pairs(settings: Settings, start: datetime, end: datetime) -> int:
    """The pairs the blocking rules generate for the appeals of [start, end) (exact count)."""
    from splink import SparkAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from spark_jobs.problems.config import load_model
    from spark_jobs.problems.features import read_features
    from spark_jobs.session import spark_session

    model = load_model()
    spark = spark_session(settings, "bench_linkage_blocking", splink=True)
    try:
        features = SparkAPI(spark_session=spark).register(read_features(spark, settings, start, end))
        records = count_comparisons_from_blocking_rules(
            features,
            blocking_rules=model["blocking_rules_to_generate_predictions"],
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
        return int(records[-1]["cumulative_comparison_count"])  # typed dicts, one per rule
    finally:
        spark.stop()


def measure(base: Settings, size: Size, reuse: bool) -> dict:
    settings = replace(base, clickhouse_database=size.database)
    log(f"{size.appeals:,} appeal lives over {size.days} days into {size.database}")
    appeals, load_s = load(settings, size, reuse)
    first = datetime.combine(START_DAY, clock(0), tzinfo=settings.tz)
    last = first + timedelta(days=size.days)
    log(f"{appeals:,} appeals (load {load_s:.0f}s); the job over the whole history")
    full = run_job(settings, first, last)
    log(f"full: {full}; the last day with its look-back")
    try:
        day = run_job(settings, last - timedelta(days=1), last)
    except RuntimeError as error:  # recorded, so that the full run's figures and the pair count still land
        log(f"the day's run failed: {error}")
        day = {"error": str(error)}
    log(f"day: {day}; counting the blocked pairs")
    pairs = blocked_pairs(settings, first, last)
    load1 = os.getloadavg()[0]
    return {
        "appeal_lives": size.appeals,
        "days": size.days,
        "appeals": appeals,
        "load_seconds": round(load_s, 1),
        "full": full,
        "day": day,
        "blocked_pairs": pairs,
        "load_average_1m_after": round(load1, 1),
    }


def report(results: list[dict]) -> str:
    lines = [
        f"{'appeals':>10} {'days':>5} {'blocked pairs':>14} {'accepted':>9} {'full s':>7} {'full MiB':>9}"
        f" {'day s':>6} {'day MiB':>8} {'day window':>11}"
    ]
    for r in results:
        full, day = r["full"], r["day"]
        day_cells = (
            f" {day['seconds']:>6} {day['peak_rss_mib']:>8} {day['counts']['appeals_in_window']:>11,}"
            if "error" not in day
            else f" {'failed':>6} {'':>8} {'':>11}"
        )
        lines.append(
            f"{r['appeals']:>10,} {r['days']:>5} {r['blocked_pairs']:>14,} {full['counts']['candidate_pairs']:>9,}"
            f" {full['seconds']:>7} {full['peak_rss_mib']:>9}{day_cells}"
        )
    for small, large in pairwise(results):
        ratio = large["appeals"] / small["appeals"]
        day = (
            f"; day {large['day']['seconds'] / small['day']['seconds']:.2f}x the time"
            if "error" not in small["day"] and "error" not in large["day"]
            else ""
        )
        lines.append(
            f"{small['appeals']:,} -> {large['appeals']:,} appeals ({ratio:.1f}x): blocked pairs"
            f" {large['blocked_pairs'] / max(small['blocked_pairs'], 1):.2f}x, full run"
            f" {large['full']['seconds'] / small['full']['seconds']:.2f}x the time,"
            f" {large['full']['peak_rss_mib'] / small['full']['peak_rss_mib']:.2f}x the memory{day}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, action="append", help="APPEALS:DAYS, repeatable (ascending)")
    parser.add_argument("--reuse", action="store_true", help="keep a database already loaded for a size")
    args = parser.parse_args(argv)
    sizes = args.size or [Size(100_000, 30)]
    base = settings_module.load()
    results = []
    for size in sizes:
        results.append(measure(base, size, args.reuse))
        print(json.dumps(results[-1]), flush=True)
    print(report(results), flush=True)


if __name__ == "__main__":
    main()
