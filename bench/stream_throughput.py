"""Stream benchmark: raw topic → rows queryable in ClickHouse, one Faust worker against a bare baseline.

Measured in the same run, on the same records (the demo generator's realistic mix of four feeds,
with its replays and malformed records):

1. **baseline**: a bare aiokafka consumer that reads the raw topics and inserts every record as it
   is (topic, partition, offset, key, value) with clickhouse-driver in batches, no normalization;
2. **worker**: one Faust worker process (`python -m streams worker`), the real pipeline: decode,
   normalize to canonical appeals and status events, reject, insert, record metrics, commit;
3. **latency**: the worker again, fed at a fixed rate; for every produced appeal record, the time
   from the producer's send to the first moment a query sees it in ClickHouse (polled every 50 ms,
   per partition: a consumer stores a partition in offset order, so `max(kafka_offset)` tells which
   records are queryable).

Throughput is measured from the first stored row to the last (the worker's start-up and group
join are not counted, nor is publishing). Run it through `bench/run.sh`, which starts ClickHouse
and Kafka on their own ports and state directory and stops them after.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import REPO_ROOT, Settings
from infra.kafka.topics import RAW_PARTITIONS, recreate_topics
from streams.generator import RawEvent, generate_day, publish

BASELINE_TABLE = "bench_baseline"
BASELINE_BATCH = 5000
POLL_S = 0.05


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- setup ----------------------------------------------------------------------------------------


def reset_tables(settings: Settings) -> None:
    migrate(settings)
    client = native_client(settings, database=settings.clickhouse_database)
    for table in ("appeals", "appeal_status_events", "appeal_state_agg", "rejected_events", "stream_batches"):
        client.execute(f"TRUNCATE TABLE {table}")
    client.execute(
        f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} (topic LowCardinality(String), partition UInt16,"
        " offset UInt64, key String, value String) ENGINE = MergeTree ORDER BY (topic, partition, offset)"
    )
    client.execute(f"TRUNCATE TABLE {BASELINE_TABLE}")
    client.disconnect()


def make_events(appeals: int, seed: int, settings: Settings) -> list[RawEvent]:
    events: list[RawEvent] = []
    day = date(2026, 11, 2)
    per_day = 20_000
    while appeals > 0:
        events += generate_day(day, min(per_day, appeals), seed, settings.tz).events
        appeals -= per_day
        day = date.fromordinal(day.toordinal() + 1)
    return events


def count(settings: Settings, sql: str) -> int:
    client = native_client(settings, database=settings.clickhouse_database)
    try:
        return int(client.execute(sql)[0][0])
    finally:
        client.disconnect()


def watch(
    settings: Settings,
    sql: str,
    expected: int,
    timeout_s: float,
    what: str,
    alive: Callable[[], bool] = lambda: True,
) -> tuple[float, float, int]:
    """Poll `sql` until it reaches `expected`; (time of the first non-zero value, time of the last, value then).

    Gives up when `alive()` turns false (the producer of the rows failed) or after `timeout_s`.
    """
    client = native_client(settings, database=settings.clickhouse_database)
    first_seen: float | None = None
    first_value = 0
    deadline = time.monotonic() + timeout_s
    last_print = 0.0
    try:
        while True:
            value = int(client.execute(sql)[0][0])
            now = time.monotonic()
            if value and first_seen is None:
                first_seen, first_value = now, value
            if value >= expected:
                assert first_seen is not None
                return first_seen, now, first_value
            if now > deadline or not alive():
                raise SystemExit(f"{what}: only {value} of {expected} after {now - deadline + timeout_s:.0f}s")
            if now - last_print > 5:
                log(f"  {what}: {value}/{expected}")
                last_print = now
            time.sleep(POLL_S)
    finally:
        client.disconnect()


# --- baseline: bare consumer, no normalization ----------------------------------------------------


async def run_baseline(settings: Settings, expected: int) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    client = native_client(settings, database=settings.clickhouse_database)
    insert = f"INSERT INTO {BASELINE_TABLE} (topic, partition, offset, key, value) VALUES"
    try:
        # The partitions infra/kafka/topics.py created (an unsubscribed consumer has no metadata to ask).
        tps = [TopicPartition(t, p) for t in settings.raw_topics.values() for p in range(RAW_PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        stored = 0
        while stored < expected:
            batch = await consumer.getmany(timeout_ms=200, max_records=BASELINE_BATCH)
            rows = [
                (m.topic, m.partition, m.offset, m.key or b"", m.value or b"") for msgs in batch.values() for m in msgs
            ]
            if rows:
                await asyncio.to_thread(client.execute, insert, rows)
                stored += len(rows)
    finally:
        client.disconnect()
        await consumer.stop()


# --- the Faust worker ---------------------------------------------------------------------------------


def start_worker(settings: Settings, name: str) -> subprocess.Popen[bytes]:
    log_path = settings.state_dir / "logs" / f"bench-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CUR_STREAMS_APP_ID": f"cur-bench-{name}-{int(time.time())}"}
    with log_path.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streams", "worker", "--loglevel=warn"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def appeal_records(events: list[RawEvent]) -> int:
    """Records that carry an appeal, by the generator's own truth: the appeals table gets a row for each."""
    return sum(1 for event in events if event.expect.appeal is not None)


# --- latency at a fixed rate ---------------------------------------------------------------------------


class OffsetPoller(threading.Thread):
    """Records when each partition's stored `max(kafka_offset)` first reaches each value."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.samples: list[tuple[float, dict[tuple[str, int], int]]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        client = native_client(self.settings, database=self.settings.clickhouse_database)
        sql = (
            "SELECT kafka_topic, kafka_partition, max(kafka_offset) FROM appeals GROUP BY kafka_topic, kafka_partition"
        )
        while not self.stop_event.is_set():
            rows = client.execute(sql)
            self.samples.append((time.time(), {(t, p): o for t, p, o in rows}))
            time.sleep(POLL_S)
        client.disconnect()


async def produce_at_rate(settings: Settings, events: list[RawEvent], rate: float) -> list[tuple[str, int, int, float]]:
    """Send `events` at `rate` records/s; returns (topic, partition, offset, send time) of each.

    Every 10 ms the records due are sent as one batch per partition (aiokafka's `send_batch`, keys
    partitioned as the default partitioner does): a record at a time cost the load generator ~27 µs,
    half a core at the latency run's rate, taken from the worker it measures on a 2-core machine.
    """
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks=1, linger_ms=5)
    await producer.start()
    partitioner = DefaultPartitioner()
    partitions = {topic: sorted(await producer.partitions_for(topic)) for topic in settings.raw_topics.values()}

    @functools.cache
    def partition_of(topic: str, key: bytes) -> int:
        return partitioner(key, partitions[topic], partitions[topic])

    sent: list[tuple[asyncio.Future, str, int, int, float]] = []  # batch, topic, partition, records, at
    try:
        started = time.monotonic()
        tick = 0.01
        done = 0
        while done < len(events):
            due = min(len(events), int((time.monotonic() - started) * rate) + 1)
            by_partition: dict[tuple[str, int], list[RawEvent]] = {}
            for event in events[done:due]:
                topic = settings.raw_topics[event.feed]
                by_partition.setdefault((topic, partition_of(topic, event.key)), []).append(event)
            at = time.time()
            for (topic, partition), group in by_partition.items():
                batch, count = producer.create_batch(), 0
                for event in group:
                    if batch.append(key=event.key, value=event.value, timestamp=None) is None:  # full
                        sent.append(
                            (await producer.send_batch(batch, topic, partition=partition), topic, partition, count, at)
                        )
                        batch, count = producer.create_batch(), 0
                        batch.append(key=event.key, value=event.value, timestamp=None)
                    count += 1
                sent.append((await producer.send_batch(batch, topic, partition=partition), topic, partition, count, at))
            done = due
            await asyncio.sleep(tick)
        await producer.flush()
        results = []
        for future, topic, partition, count, at in sent:
            base = (await future).offset
            results.extend((topic, partition, base + i, at) for i in range(count))
        return results
    finally:
        await producer.stop()


def latencies(sent: list[tuple[str, int, int, float]], samples: list, appeal_offsets: set) -> list[float]:
    """Seconds from send to the first poll that shows the record stored, for the appeal records."""
    out: list[float] = []
    # For each partition, walk its records in offset order alongside the samples.
    by_tp: dict[tuple[str, int], list[tuple[int, float]]] = {}
    for topic, partition, offset, at in sent:
        if (topic, partition, offset) in appeal_offsets:
            by_tp.setdefault((topic, partition), []).append((offset, at))
    for tp, records in by_tp.items():
        records.sort()
        i = 0
        for seen_at, maxima in samples:
            stored = maxima.get(tp, -1)
            while i < len(records) and records[i][0] <= stored:
                out.append(max(0.0, seen_at - records[i][1]))
                i += 1
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


# --- main -----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--appeals", type=int, default=40_000, help="appeal lifecycles generated (about 4.5 raw records each)"
    )
    parser.add_argument(
        "--rate", type=float, default=5000, help="appeals/s for the latency run (sent with their feeds' other records)"
    )
    parser.add_argument("--seconds", type=float, default=30, help="length of the latency run")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    settings = settings_module.load()

    log(f"generating {args.appeals} appeals of the four feeds (seed {args.seed})")
    events = make_events(args.appeals, args.seed, settings)
    records, with_appeal = len(events), appeal_records(events)
    log(f"{records} raw records, {with_appeal} of them carry an appeal")

    log("publishing them to the raw topics")
    asyncio.run(recreate_topics(settings))
    reset_tables(settings)
    asyncio.run(publish(events, settings))

    log("baseline: bare aiokafka consumer + clickhouse-driver inserts, no normalization")
    failure: list[BaseException] = []

    def baseline_thread() -> None:
        try:
            asyncio.run(run_baseline(settings, records))
        except BaseException as exc:  # shown below instead of dying silently in the thread
            failure.append(exc)

    baseline = threading.Thread(target=baseline_thread, daemon=True)
    baseline.start()
    try:
        first, last, at_first = watch(
            settings, f"SELECT count() FROM {BASELINE_TABLE}", records, 900, "baseline", alive=lambda: not failure
        )
    except SystemExit:
        if failure:
            raise failure[0] from None
        raise
    baseline.join(timeout=60)
    baseline_rate = (records - at_first) / max(last - first, 1e-9)
    log(f"baseline: {baseline_rate:,.0f} records/s")

    log("worker: one Faust worker process, the real normalization path")
    worker = start_worker(settings, "throughput")
    try:
        first, last, at_first = watch(
            settings,
            "SELECT sum(events_in) FROM stream_batches",
            records,
            1800,
            "worker records",
            alive=lambda: worker.poll() is None,
        )
    finally:
        stop_worker(worker)
    worker_seconds = max(last - first, 1e-9)
    stored_first = at_first
    worker_rate = (records - stored_first) / worker_seconds
    appeals_rate = worker_rate * with_appeal / records
    log(f"worker: {worker_rate:,.0f} records/s = {appeals_rate:,.0f} appeals/s")

    # The rate is in appeals/s, as the target is; the feeds send their other records (status changes,
    # heartbeats, ...) alongside, so records go out faster by the mix's ratio.
    lat_events = events
    if args.rate * args.seconds * records / with_appeal > len(events):
        lat_appeals = int(args.rate * args.seconds * 1.1)
        log(f"generating {lat_appeals} appeals for {args.seconds:.0f}s at {args.rate:,.0f} appeals/s")
        lat_events = make_events(lat_appeals, args.seed + 1, settings)
    records_rate = args.rate * len(lat_events) / appeal_records(lat_events)
    needed = min(len(lat_events), int(records_rate * args.seconds) + 50)
    log(
        f"latency: the worker fed at {args.rate:,.0f} appeals/s ({records_rate:,.0f} records/s) for {args.seconds:.0f}s"
    )
    asyncio.run(recreate_topics(settings))
    reset_tables(settings)
    worker = start_worker(settings, "latency")
    try:
        warmup = lat_events[:50]
        asyncio.run(publish(warmup, settings))
        watch(
            settings,
            "SELECT sum(events_in) FROM stream_batches",
            len(warmup),
            180,
            "worker warm-up",
            alive=lambda: worker.poll() is None,
        )
        stream = lat_events[50:needed]
        poller = OffsetPoller(settings)
        poller.start()
        sent = asyncio.run(produce_at_rate(settings, stream, records_rate))
        watch(settings, "SELECT sum(events_in) FROM stream_batches", len(warmup) + len(stream), 600, "latency run")
        time.sleep(2 * POLL_S)
        poller.stop_event.set()
        poller.join()
    finally:
        stop_worker(worker)
    client = native_client(settings, database=settings.clickhouse_database)
    appeal_offsets = {
        (t, p, o) for t, p, o in client.execute("SELECT kafka_topic, kafka_partition, kafka_offset FROM appeals")
    }
    client.disconnect()
    lat = latencies(sent, poller.samples, appeal_offsets)
    achieved_records = len(sent) / max(sent[-1][3] - sent[0][3], 1e-9)
    achieved = achieved_records * appeal_records(stream) / len(stream)  # appeals/s, by the generator's truth
    p50, p99 = percentile(lat, 0.50), percentile(lat, 0.99)

    figures = {
        "records": records,
        "appeal_records": with_appeal,
        "baseline_records_per_s": round(baseline_rate),
        "worker_records_per_s": round(worker_rate),
        "worker_appeals_per_s": round(appeals_rate),
        "worker_to_baseline_ratio": round(worker_rate / baseline_rate, 3),
        "latency_appeals_per_s_target": args.rate,
        "latency_appeals_per_s_achieved": round(achieved),
        "latency_records_per_s_achieved": round(achieved_records),
        "latency_samples": len(lat),
        "latency_p50_s": round(p50, 3),
        "latency_p99_s": round(p99, 3),
        "latency_mean_s": round(statistics.fmean(lat), 3),
    }
    print("\n=== stream benchmark ===")
    print(f"baseline (bare consumer, no normalization): {baseline_rate:>10,.0f} records/s")
    print(
        f"Faust worker (full normalization):          {worker_rate:>10,.0f} records/s ({appeals_rate:,.0f} appeals/s)"
    )
    print(f"ratio worker / baseline:                    {worker_rate / baseline_rate:>10.2f}")
    print(
        f"latency at {achieved:,.0f} appeals/s = {achieved_records:,.0f} records/s (target {args.rate:,.0f} appeals/s):"
        f" p50 {p50:.3f}s  p99 {p99:.3f}s  ({len(lat)} appeals)"
    )
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
