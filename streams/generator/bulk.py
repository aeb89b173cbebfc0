"""Large generated histories straight into ClickHouse, without Kafka: the same rows, many times faster.

Why: benchmarks and the analytical jobs need 100 k to 10 M appeals with their status events, and the
stream path (generator → Kafka → worker) carries ~5 k appeals/s through a broker that keeps a week.
Here each region-local day is made by the generator's own `generate_day` and its raw records go
through the stream workers' own `normalize_batch` (streams/ingest.py → streams/records.py →
streams/feeds/*) in-process, so the history has every shape and quirk the pipeline produces (snapshot
re-sends, replays, late and out-of-order records, rejections); days run in parallel worker processes,
one day at a time each, and every worker inserts its rows with clickhouse-driver in large blocks.

    python -m streams.generator.bulk --days 100 --appeals-per-day 10000 --seed 7
    python -m streams.generator.bulk --days 365 --appeals 10000000 --seed 7 --start-day 2025-12-01 --workers 2

`--appeals N` spreads N appeal lives over the days (as `generate_day` counts them; the canonical appeals
are 3-6% more: Safe City scenes seen by several cameras are several appeals, minus rejected records).
Progress goes to stderr, a JSON summary to stdout.

What a bulk row says about its origin (the lineage of every appeal, status event and rejected record):
- `kafka_topic` = `bulk.<raw topic>` (`bulk.raw.pos`, ...): no such topic exists, so a bulk row is
  never mistaken for a consumed one; `python -m streams.replay_rejected` would send its rejected
  records to that unread topic, so do not replay a bulk history;
- `kafka_partition` = 0;
- `kafka_offset` = YYYYMMDD × 10⁹ + n, n the record's place (from 0) among the records of that topic
  made for that day's appeals, in send order: unique per topic, and the same on every load of the day
  whatever else is loaded with it, by whichever worker, in any order;
- `ingested_at` (and a rejected record's `rejected_at`) = the end of the UTC minute in which the source
  sent the record, as if a worker had stored it within a minute: a history ingested over time, and
  the same rows on every load.

`--until` (default: now) ends the history: what happens later is not generated, and records the
sources had not sent by then (late deliveries, replays) are not loaded, not being in Kafka yet.

Loading days again is safe: the rows have the same keys (with the same `--until`, the very same rows),
so after FINAL nothing is doubled; a later `--until` only adds what was sent since, the offsets of the
records loaded before stay as they were. Nothing is retried: a failed load is simply run again.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any, Protocol

from aiokafka import ConsumerRecord

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.pseudonymize import Pseudonymizer
from cur.schema import COLUMNS, STATUS_EVENT_COLUMNS
from cur.settings import Settings
from streams import control_totals
from streams.control_totals import CONTROL_COLUMNS
from streams.generator import FEEDS, RawEvent, generate_day
from streams.ingest import FeedPart, normalize_batch
from streams.sink import OUTCOME_COLUMNS, REJECTED_COLUMNS, Batch

TOPIC_PREFIX = "bulk."
PARTITION = 0
DAY_OFFSETS = 10**9  # offsets of one day and topic: YYYYMMDD × 10⁹ + n
FLUSH_ROWS = 200_000  # a day's rows are inserted in blocks of at most about this many rows
_MINUTE = timedelta(minutes=1)
_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# ClickHouse's keys of a row, by column position: what FINAL collapses on.
_APPEAL_KEY = itemgetter(COLUMNS.index("source"), COLUMNS.index("source_id"))
_EVENT_KEY = itemgetter(*(STATUS_EVENT_COLUMNS.index(c) for c in ("source", "source_id", "event_at", "status")))


def bulk_topic(raw_topic: str) -> str:
    return TOPIC_PREFIX + raw_topic


def day_offset(day: date, n: int) -> int:
    """The n-th record of a day's topic, in decimal so that it reads as its day: 20261125_000000042."""
    return int(f"{day:%Y%m%d}") * DAY_OFFSETS + n


def ingested_at_for(sent_at: datetime) -> datetime:
    """The end of the UTC minute the record was sent in (a record sent on the minute: that minute)."""
    since = sent_at - _EPOCH
    return _EPOCH + -(-since // _MINUTE) * _MINUTE


def kafka_records(
    day: date, events: Iterable[RawEvent], settings: Settings, *, until: datetime | None = None
) -> Iterator[tuple[ConsumerRecord, datetime]]:
    """The day's raw events as the Kafka records a worker would have consumed, each with its ingested_at.

    Events come in send order (as `generate_day` returns them); those sent after `until` are left out,
    so the records kept are a prefix of each topic and a later `until` never moves an offset.
    """
    topics = {feed: bulk_topic(topic) for feed, topic in settings.raw_topics.items()}
    first = day_offset(day, 0)
    sequence: Counter[str] = Counter()
    for event in events:
        sent_at = event.sent_at
        if until is not None and sent_at > until:
            continue
        topic = topics[event.feed]
        n = sequence[topic]
        sequence[topic] = n + 1
        key, value = event.key, event.value
        sent_ms = (sent_at - _EPOCH) // _MS
        headers = control_totals.header(event.export_day) if event.export_day is not None else []
        record = ConsumerRecord(
            topic, PARTITION, first + n, sent_ms, 0, key, value, None, len(key), len(value), headers
        )
        yield record, ingested_at_for(sent_at)


def normalized_batches(
    day: date,
    events: Iterable[RawEvent],
    settings: Settings,
    pseudonymizer: Pseudonymizer,
    *,
    until: datetime | None = None,
) -> Iterator[tuple[Batch, dict[str, FeedPart], datetime]]:
    """The day's records through the workers' `normalize_batch`, a batch per minute of send time (its
    ingested_at), in send order."""
    topic_feeds = {bulk_topic(topic): feed for feed, topic in settings.raw_topics.items()}
    for minute, records in groupby(kafka_records(day, events, settings, until=until), key=itemgetter(1)):
        batch, parts = normalize_batch([record for record, _ in records], topic_feeds, minute, settings, pseudonymizer)
        yield batch, parts, minute


@dataclass
class FeedCount:
    """One feed's share of a load; `appeals` and `status_events` are distinct, as after FINAL."""

    appeals: int = 0
    appeal_rows: int = 0
    status_events: int = 0
    status_event_rows: int = 0
    rejected: int = 0
    filtered: int = 0
    records: int = 0

    def add(self, other: FeedCount) -> None:
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class DayRows:
    """Insert rows of one day (or of the part not inserted yet), and the day's running counts."""

    day: date
    appeals: list[tuple] = field(default_factory=list)
    status_events: list[tuple] = field(default_factory=list)
    rejected: list[tuple] = field(default_factory=list)
    control_totals: list[tuple] = field(default_factory=list)
    outcomes: list[tuple] = field(default_factory=list)
    feeds: dict[str, FeedCount] = field(default_factory=lambda: {feed: FeedCount() for feed in FEEDS})
    _appeal_keys: set[tuple] = field(default_factory=set)
    _event_keys: set[tuple] = field(default_factory=set)

    @property
    def pending(self) -> int:
        return len(self.appeals) + len(self.status_events) + len(self.rejected) + len(self.outcomes)

    def add(self, batch: Batch, parts: dict[str, FeedPart], ingested_at: datetime) -> None:
        """All of a day's records of one appeal are made the same day, so distinct per day is distinct."""
        appeals = [a.as_row() for a in batch.appeals]
        events = [e.as_row() for e in batch.status_events]
        self.appeals += appeals
        self.status_events += events
        self.rejected += [r.as_row(ingested_at) for r in batch.rejected]
        self.control_totals += batch.control_totals
        self.outcomes += batch.outcomes
        for row in appeals:
            key = _APPEAL_KEY(row)
            if key not in self._appeal_keys:
                self._appeal_keys.add(key)
                self.feeds[key[0]].appeals += 1
        for row in events:
            key = _EVENT_KEY(row)
            if key not in self._event_keys:
                self._event_keys.add(key)
                self.feeds[key[0]].status_events += 1
        for feed, part in parts.items():
            count = self.feeds[feed]
            count.appeal_rows += part.appeals
            count.status_event_rows += part.status_events
            count.rejected += part.rejected
            count.filtered += part.filtered
            count.records += part.events_in

    def take(self) -> tuple[list[tuple], ...]:
        """The rows not inserted yet (appeals, status events, rejected, control totals, record outcomes,
        BulkWriter's order), handed over and forgotten here."""
        taken = self.appeals, self.status_events, self.rejected, self.control_totals, self.outcomes
        self.appeals, self.status_events, self.rejected, self.control_totals, self.outcomes = [], [], [], [], []
        return taken


class RowWriter(Protocol):
    def write(self, tables: Sequence[list[tuple]]) -> None:
        """Rows of appeals, status events, rejected records, control totals and record outcomes, in that order."""


class BulkWriter:
    """Inserts into the sink's tables with the sink's column lists (times as epoch ms, as the sink does)."""

    def __init__(self, settings: Settings) -> None:
        db = settings.clickhouse_database
        self._client = native_client(settings, database=db)
        self._inserts = (
            f"INSERT INTO {db}.appeals ({', '.join(COLUMNS)}) VALUES",
            f"INSERT INTO {db}.appeal_status_events ({', '.join(STATUS_EVENT_COLUMNS)}) VALUES",
            f"INSERT INTO {db}.rejected_events ({', '.join(REJECTED_COLUMNS)}) VALUES",
            f"INSERT INTO {db}.feed_control_totals ({', '.join(CONTROL_COLUMNS)}) VALUES",
            f"INSERT INTO {db}.record_outcomes ({', '.join(OUTCOME_COLUMNS)}) VALUES",
        )

    def write(self, tables: Sequence[list[tuple]]) -> None:
        for insert, rows in zip(self._inserts, tables, strict=True):
            if rows:
                self._client.execute(insert, rows)

    def close(self) -> None:
        self._client.disconnect()


@dataclass
class DayLoad:
    """What loading one day did, reported by the process that did it."""

    day: date
    lives: int  # appeal lives started that day (generate_day's `appeals`)
    feeds: dict[str, FeedCount]
    not_sent: int  # records left out: not sent by `until`
    seconds: float
    cpu_seconds: float  # of this process on this day: what the day cost, however busy the machine was
    pid: int
    max_rss_mib: float  # the process's peak so far


@contextmanager
def _collector_after_the_day() -> Iterator[None]:
    """A day makes millions of short-lived objects and ~200 cycles: the collector's passes over them took a
    fifth of the time (measured on 10,000-appeal days), one pass once the day is done takes 10-30 ms."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.collect()


def load_day(
    day: date,
    lives: int,
    seed: int,
    settings: Settings,
    pseudonymizer: Pseudonymizer,
    writer: RowWriter,
    *,
    until: datetime | None,
) -> DayLoad:
    """Generate, normalize and insert one day; at most ~FLUSH_ROWS rows wait in memory besides the events."""
    started, cpu_started = time.perf_counter(), time.process_time()
    with _collector_after_the_day():
        generated = generate_day(day, lives, seed, settings.tz, until=until)
        rows = DayRows(day)
        batches = normalized_batches(day, generated.events, settings, pseudonymizer, until=until)
        for batch, parts, ingested_at in batches:
            rows.add(batch, parts, ingested_at)
            if rows.pending >= FLUSH_ROWS:
                writer.write(rows.take())
        writer.write(rows.take())
    loaded = sum(count.records for count in rows.feeds.values())
    return DayLoad(
        day,
        lives,
        rows.feeds,
        len(generated.events) - loaded,
        time.perf_counter() - started,
        time.process_time() - cpu_started,
        os.getpid(),
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


# --- worker processes ----------------------------------------------------------------------------------

_worker: tuple[Settings, Pseudonymizer, BulkWriter] | None = None


def _start_worker(settings: Settings) -> None:
    """Per process: the pseudonymizer (its key never crosses a pipe) and a ClickHouse connection."""
    global _worker
    _worker = (settings, Pseudonymizer.from_settings(settings), BulkWriter(settings))


def _load_day_task(task: tuple[date, int, int, datetime | None]) -> DayLoad:
    assert _worker is not None
    day, lives, seed, until = task
    settings, pseudonymizer, writer = _worker
    return load_day(day, lives, seed, settings, pseudonymizer, writer, until=until)


def spread(total: int, days: int) -> list[int]:
    """`total` appeal lives over `days` days, exactly, differing by one at most."""
    return [total * (n + 1) // days - total * n // days for n in range(days)]


@dataclass
class Summary:
    """The whole load; `appeals` and `status_events` are distinct, as ClickHouse counts them with FINAL."""

    start_day: date
    days: int
    lives: int
    seed: int
    until: datetime | None
    workers: int
    feeds: dict[str, FeedCount] = field(default_factory=lambda: {feed: FeedCount() for feed in FEEDS})
    days_done: int = 0
    not_sent: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    worker_rss_mib: dict[int, float] = field(default_factory=dict)

    def add(self, load: DayLoad) -> None:
        for feed, count in load.feeds.items():
            self.feeds[feed].add(count)
        self.days_done += 1
        self.not_sent += load.not_sent
        self.cpu_seconds += load.cpu_seconds
        self.worker_rss_mib[load.pid] = max(load.max_rss_mib, self.worker_rss_mib.get(load.pid, 0.0))

    def total(self, name: str) -> int:
        return sum(getattr(count, name) for count in self.feeds.values())

    def as_dict(self) -> dict[str, Any]:
        parent_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        workers_mib = list(self.worker_rss_mib.values())
        return {
            "start_day": self.start_day.isoformat(),
            "end_day": (self.start_day + timedelta(days=self.days - 1)).isoformat(),
            "days": self.days_done,
            "appeal_lives": self.lives,
            "seed": self.seed,
            "until": self.until.isoformat() if self.until else None,
            "workers": self.workers,
            "appeals": self.total("appeals"),
            "status_events": self.total("status_events"),
            "rejected": self.total("rejected"),
            "filtered": self.total("filtered"),
            "appeal_rows": self.total("appeal_rows"),
            "status_event_rows": self.total("status_event_rows"),
            "raw_records": self.total("records"),
            "not_yet_sent": self.not_sent,
            "seconds": round(self.seconds, 1),
            "appeals_per_s": round(self.total("appeals") / self.seconds) if self.seconds else None,
            "cpu_seconds": round(self.cpu_seconds, 1),  # of the processes that loaded the days
            "appeals_per_cpu_s": round(self.total("appeals") / self.cpu_seconds) if self.cpu_seconds else None,
            "peak_rss_mib": {
                "parent": round(parent_mib),
                "largest_worker": round(max(workers_mib, default=0)),
                "all_processes": round(parent_mib + sum(workers_mib)),  # sum of peaks: an upper bound
            },
            "feeds": {feed: vars(count) for feed, count in self.feeds.items()},
        }


def load_history(
    start_day: date,
    lives_per_day: Sequence[int],
    seed: int,
    settings: Settings,
    *,
    until: datetime | None,
    workers: int = 2,
    progress: Callable[[Summary], None] | None = None,
) -> Summary:
    """Load `len(lives_per_day)` consecutive days from `start_day`; `workers` <= 1 runs in this process."""
    summary = Summary(start_day, len(lives_per_day), sum(lives_per_day), seed, until, max(1, workers))
    tasks = [(start_day + timedelta(days=n), lives, seed, until) for n, lives in enumerate(lives_per_day)]
    started = time.perf_counter()

    def done(loads: Iterable[DayLoad]) -> None:
        for load in loads:
            summary.add(load)
            summary.seconds = time.perf_counter() - started
            if progress is not None:
                progress(summary)

    if workers <= 1:
        pseudonymizer, writer = Pseudonymizer.from_settings(settings), BulkWriter(settings)
        try:
            done(load_day(day, lives, seed, settings, pseudonymizer, writer, until=until) for day, lives, _, _ in tasks)
        finally:
            writer.close()
    else:
        # fork: the workers start with the parent's modules already imported.
        context = multiprocessing.get_context("fork")
        with context.Pool(workers, initializer=_start_worker, initargs=(settings,)) as pool:
            done(pool.imap_unordered(_load_day_task, tasks, chunksize=1))
    summary.seconds = time.perf_counter() - started
    return summary


class _Progress:
    """A line on stderr at most every `every_s` seconds, and after the last day."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.last = 0.0

    def __call__(self, summary: Summary) -> None:
        now = time.monotonic()
        last_day = summary.days_done == summary.days
        if now - self.last < self.every_s and not last_day:
            return
        self.last = now
        appeals = summary.total("appeals")
        rate = appeals / summary.seconds if summary.seconds else 0.0
        left_s = summary.seconds / summary.days_done * (summary.days - summary.days_done)
        print(
            f"[bulk] {summary.days_done}/{summary.days} days, {appeals:,} appeals ({rate:,.0f}/s),"
            f" {summary.total('status_events'):,} status events, {summary.total('rejected'):,} rejected,"
            f" {summary.seconds:,.0f}s, ETA {timedelta(seconds=round(left_s))}, load {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
            flush=True,
        )


def _aware(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("--until needs a time zone (e.g. 2026-12-01T00:00:00+03:00)")
    return moment


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m streams.generator.bulk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--days", type=int, required=True, help="region-local days to generate")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--appeals-per-day", type=int, help="appeal lives started each day")
    size.add_argument("--appeals", type=int, help="appeal lives in all, spread evenly over the days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start-day", type=date.fromisoformat, help="first day (default: the days end yesterday)")
    parser.add_argument("--until", type=_aware, help="the history ends here (ISO with zone; default: now)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: cores)")
    args = parser.parse_args(argv)
    per_day = args.appeals_per_day if args.appeals is None else args.appeals
    if args.days < 1 or per_day < 0 or args.workers < 1:
        parser.error("--days and --workers must be >= 1, the appeals >= 0")
    settings = settings_module.load()
    until = (args.until or datetime.now(UTC)).astimezone(UTC)
    start = args.start_day or datetime.now(settings.tz).date() - timedelta(days=args.days)
    lives = [per_day] * args.days if args.appeals is None else spread(args.appeals, args.days)
    print(
        f"[bulk] {args.days} days from {start}, {sum(lives):,} appeal lives, seed {args.seed}, until"
        f" {until.isoformat()}, {args.workers} workers, into {settings.clickhouse_host}:{settings.clickhouse_port}"
        f"/{settings.clickhouse_database}",
        file=sys.stderr,
        flush=True,
    )
    summary = load_history(start, lives, args.seed, settings, until=until, workers=args.workers, progress=_Progress())
    print(json.dumps(summary.as_dict(), ensure_ascii=False))


if __name__ == "__main__":
    main()
