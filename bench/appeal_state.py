"""Benchmark: reading the current state of one day's appeals costs the same with 100 k and 10 M events of history.

`cur.appeal_state` (migration 0008) reads an AggregatingMergeTree ordered by (source, source_id), kept by a
materialized view on the status events. A reader that asks for one day's appeals reads the index granules
of those appeals only, so the cost follows the day, not the history. Measured here:

1. a scratch database made by the real migrations (`cur.migrate`), status events loaded quickly with
   INSERT … SELECT from numbers() (no Kafka, no generator: the materialized view does its real work on
   every block); appeals of `--appeals-per-day` a day, `--events-per-appeal` steps each;
2. two such databases: a history of 100 k events and one of 10 M, whose last day is the same day with
   the same appeals (the large one has 495 days more before it);
3. the state of that day's appeals (their keys in a small table, as a dbt model's day of appeals) read
   in both, in turn, `--repeats` times: through `appeal_state` filtered by the keys; the view joined to
   the keys (how a plain join reads it); 0004's definition (every event aggregated with FINAL) filtered by
   the keys, for reference. Median time, rows read, and the ratios large ÷ small.

    python -m bench.appeal_state                      # on the ClickHouse of the settings
    bash bench/run.sh appeal_state                    # on the benchmark's own ClickHouse
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clickhouse_driver import Client

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.schema import STATUSES

DATABASE = "cur_bench_state"
START = datetime(2025, 1, 1, tzinfo=UTC)
LIFECYCLE = ("received", "assigned", "in_progress", "answered", "resolved", "returned", "in_progress", "answered")
STEP_S = 2 * 3600  # between one appeal's steps
CHUNK_EVENTS = 2_000_000  # events per INSERT … SELECT
RANK = "indexOf([" + ", ".join(f"'{s}'" for s in STATUSES) + "], status)"
# 0004's view, for reference: every event of the history aggregated with FINAL on every read.
FULL_AGGREGATION = f"""
SELECT source, source_id,
    argMax(status, (event_at, {RANK})) AS current_status,
    minIfOrNull(event_at, is_response) AS first_response_at,
    argMaxIf(rating, event_at, rating IS NOT NULL) AS last_rating,
    countIf(status = 'returned') AS returned_count,
    max(event_at) AS last_event_at,
    count() AS events
FROM {{db}}.appeal_status_events FINAL
GROUP BY source, source_id
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load(client: Client, db: str, first: int, last: int, per_day: int, steps: int) -> None:
    """Appeals number `first` to `last` - 1 (numbered in creation order, `per_day` a day from START) and
    their `steps` status events each: keys like real ids, ascending with creation time."""
    lifecycle = "[" + ", ".join(f"'{s}'" for s in LIFECYCLE[:steps]) + "]"
    seconds_apart = 86_400 / per_day
    appeal = f"""
        ['pos', '112', 'safe_city', 'housing'][a % 4 + 1] AS source,
        leftPad(toString(a), 12, '0') AS source_id,
        toDateTime64('{START:%Y-%m-%d %H:%M:%S}', 3, 'UTC')
            + toIntervalMillisecond(toUInt64(a * {seconds_apart} * 1000)) AS created_at"""
    client.execute(
        f"INSERT INTO {db}.appeals (appeal_id, source, source_id, created_at, sector, subcategory,"
        " municipality_code, priority, status, sla_deadline_at, ingested_at, kafka_topic, version)"
        f" SELECT generateUUIDv4(), source, source_id, created_at, 'roads', 'roads.pothole', '29701000',"
        f" 'normal', 'received', created_at + INTERVAL 8 HOUR, created_at, 'bench', 1"
        f" FROM (SELECT number AS a, {appeal} FROM numbers({first}, {last - first}))"
    )
    for start in range(first * steps, last * steps, CHUNK_EVENTS):
        count = min(CHUNK_EVENTS, last * steps - start)
        client.execute(
            f"INSERT INTO {db}.appeal_status_events (appeal_id, source, source_id, status, event_at, is_response,"
            " rating, detail, ingested_at, kafka_topic, kafka_partition, kafka_offset, executor)"
            " SELECT generateUUIDv4(), source, source_id, status, event_at, status = 'answered',"
            " if(status IN ('resolved', 'returned') AND a % 3 = 0, toUInt8(1 + a % 5), NULL), '',"
            " event_at + INTERVAL 1 MINUTE, 'bench', 0, n,"
            " if(status = 'assigned', concat('Исполнитель № ', toString(a % 40)), '')"
            f" FROM (SELECT number AS n, intDiv(number, {steps}) AS a, {lifecycle}[number % {steps} + 1] AS status,"
            f" {appeal}, created_at + toIntervalSecond((number % {steps}) * {STEP_S} + a % 600) AS event_at"
            f" FROM numbers({start}, {count}))"
        )


def day_queries(client: Client, db: str, day: int) -> dict[str, str]:
    """The reads of the state of day `day`'s appeals (from START): through the view filtered by their keys,
    the view joined to them, and 0004's definition filtered by their keys."""
    day_start, day_end = START + timedelta(days=day), START + timedelta(days=day + 1)
    client.execute(f"DROP TABLE IF EXISTS {db}.day_keys")
    client.execute(
        f"CREATE TABLE {db}.day_keys ENGINE = Memory AS SELECT source, source_id FROM {db}.appeals"
        f" WHERE created_at >= '{day_start:%Y-%m-%d %H:%M:%S}' AND created_at < '{day_end:%Y-%m-%d %H:%M:%S}'"
    )
    figures = "count(), countIf(current_status = 'resolved'), countIf(first_response_at IS NOT NULL), sum(events)"
    # The keys as the table types them (source an Enum8): a cast of the key column would hide the index.
    where = f"WHERE (source, source_id) IN (SELECT source, source_id FROM {db}.day_keys)"
    return {
        "state": f"SELECT {figures} FROM {db}.appeal_state {where}",
        # How spark_jobs and features.sql read it: ClickHouse builds the right side of a join whole.
        "joined": f"SELECT {figures} FROM {db}.day_keys AS k"
        f" LEFT JOIN {db}.appeal_state AS s ON k.source = s.source AND k.source_id = s.source_id",
        "full": f"SELECT {figures} FROM ({FULL_AGGREGATION.format(db=db)}) {where}",
    }


def server_cpu_s(pid: int | None) -> float:
    """CPU seconds the ClickHouse process has used so far (user + system), 0 when it is not local: on a
    machine that others load, the CPU a read costs varies far less than its wall time."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def local_server_pid(settings: settings_module.Settings) -> int | None:
    """The embedded engine of this state directory (infra/services/clickhouse.sh), when it serves here."""
    try:
        pid = int((settings.state_dir / "run" / "clickhouse.pid").read_text())
        Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return pid


def timed(
    client: Client, queries: dict[str, dict[str, str]], repeats: int, pid: int | None
) -> dict[str, dict[str, dict]]:
    """Each query of each history, run in turn `repeats` times (so a busy machine slows all alike): the
    median wall seconds and server CPU seconds, the rows the last run read, and its result."""
    runs: dict[str, dict[str, list[tuple[float, float]]]] = {h: {q: [] for q in qs} for h, qs in queries.items()}
    out: dict[str, dict[str, dict]] = {h: {} for h in queries}
    for _ in range(repeats):
        for history, named in queries.items():
            for name, query in named.items():
                began, cpu = time.perf_counter(), server_cpu_s(pid)
                result = client.execute(query, settings={"use_query_cache": 0})
                runs[history][name].append((time.perf_counter() - began, server_cpu_s(pid) - cpu))
                out[history][name] = {"rows": client.last_query.progress.rows, "result": result}
    for history, named in runs.items():
        for name, samples in named.items():
            out[history][name]["s"] = statistics.median(wall for wall, _ in samples)
            out[history][name]["cpu_s"] = statistics.median(cpu for _, cpu in samples)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100_000, help="events of the small history")
    parser.add_argument("--large", type=int, default=10_000_000, help="events of the large history")
    parser.add_argument("--appeals-per-day", type=int, default=4_000)
    parser.add_argument("--events-per-appeal", type=int, default=5, choices=range(1, len(LIFECYCLE) + 1))
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--no-full", action="store_true", help="skip the reference read through 0004's definition")
    args = parser.parse_args()
    per_day, steps = args.appeals_per_day, args.events_per_appeal
    days = {"small": max(1, args.small // (per_day * steps))}
    days["large"] = max(days["small"] + 1, args.large // (per_day * steps))
    last_day = days["large"] - 1  # the day read is the latest of both; the large history goes further back

    base = settings_module.load()
    client = native_client(base)
    databases = {history: f"{DATABASE}_{history}" for history in days}
    queries: dict[str, dict[str, str]] = {}
    events: dict[str, int] = {}
    try:
        for history, db in databases.items():
            client.execute(f"DROP DATABASE IF EXISTS {db} SYNC")
            migrate(replace(base, clickhouse_database=db))
            began = time.perf_counter()
            load(client, db, (last_day + 1 - days[history]) * per_day, (last_day + 1) * per_day, per_day, steps)
            client.execute(f"OPTIMIZE TABLE {db}.appeal_state_agg FINAL")  # as background merges leave it
            loaded = time.perf_counter() - began
            events[history] = client.execute(f"SELECT count() FROM {db}.appeal_status_events")[0][0]
            log(f"{history}: {events[history]:,} events of {days[history]} days loaded and merged in {loaded:.1f}s")
            queries[history] = day_queries(client, db, last_day)
            if args.no_full:
                del queries[history]["full"]
        found = timed(client, queries, args.repeats, local_server_pid(base))
        for history, named in found.items():
            results = {name: figures["result"] for name, figures in named.items()}
            assert len({repr(r) for r in results.values()}) == 1, results  # all three read the same state
            assert results["state"][0][0] == per_day, results["state"]
            log(
                f"{history}, {events[history]:,} events: the state of one day's {per_day:,} appeals: "
                + "; ".join(
                    f"{name} {f['s'] * 1000:.0f} ms ({f['cpu_s'] * 1000:.0f} ms CPU), {f['rows']:,} rows read"
                    for name, f in named.items()
                )
            )
        small, large = found["small"], found["large"]
        log(
            f"{events['large'] / events['small']:.0f}x the history: "
            + "; ".join(
                f"{name} {large[name]['s'] / small[name]['s']:.2f}x the time"
                f" ({large[name]['cpu_s'] / max(small[name]['cpu_s'], 1e-3):.2f}x the CPU),"
                f" {large[name]['rows'] / small[name]['rows']:.2f}x the rows"
                for name in small
            )
        )
    finally:
        for db in databases.values():
            client.execute(f"DROP DATABASE IF EXISTS {db} SYNC")
        client.disconnect()


if __name__ == "__main__":
    main()
