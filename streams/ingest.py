"""The hot path of the stream worker: raw topics → canonical rows in ClickHouse, a batch at a time.

Why not a Faust agent per feed: Faust hands records to agents one by one (consumer → conductor →
stream → `take_events` buffer, with a task and a `wait_first` per message), ~100 µs per record
measured (bench/RESULTS.md), more than the whole budget of a record. The ingester therefore runs
inside the Faust worker as a service with its own aiokafka consumer and works on what one poll
returns: a list of records per partition, normalized, stored and committed together. Faust still
runs the worker: start-up and shutdown, the web view with `/metrics/`, the leader-only timers.

Guarantees (tested in tests/e2e/test_stream_faults.py):
- a batch is cut by size (`CUR_STREAMS_BATCH_MAX` records) or time (`CUR_STREAMS_BATCH_WITHIN_S`
  after its first record), stored in ClickHouse (streams/sink.py: retried until it succeeds,
  idempotent), its rejected records delivered to the dead-letter topic, and only then are its
  offsets committed;
- the consumer group is `CUR_STREAMS_APP_ID`: workers with the same id share the raw partitions;
  a rebalance waits for the batch in flight to be stored and committed before the partitions move,
  so the next owner starts exactly after it;
- when a commit still fails (the worker was dropped from the group, the broker went away), the
  records come again to whoever owns the partition and collapse with the stored copies by key.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from mode import Service

from cur.pseudonymize import Pseudonymizer
from cur.schema import Appeal, StatusEvent
from cur.settings import Settings
from streams.control_totals import ControlTotal, export_day_of
from streams.feeds import NORMALIZERS
from streams.records import Context, KafkaMeta, Rejected, normalize_record
from streams.sink import FIRST_BACKOFF_S, MAX_BACKOFF_S, Batch, ClickHouseSink

log = logging.getLogger("streams.ingest")


@dataclass
class FeedCounters:
    """This worker's running totals for one feed, shown on /metrics/."""

    events_in: int = 0
    appeals_out: int = 0
    status_events_out: int = 0
    rejected: int = 0
    filtered: int = 0
    unmapped_codes: int = 0
    batches: int = 0
    insert_retries: int = 0
    last_batch_ms: float = 0.0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))

    def add(self, part: FeedPart, batch_ms: float, latency_ms: float, insert_retries: int) -> None:
        """Count one stored batch's share of this feed."""
        self.events_in += part.events_in
        self.appeals_out += part.appeals
        self.status_events_out += part.status_events
        self.rejected += part.rejected
        self.filtered += part.filtered
        self.unmapped_codes += part.unmapped
        self.batches += 1
        self.insert_retries = insert_retries
        self.last_batch_ms = batch_ms
        self.latencies_ms.append(latency_ms)

    def as_dict(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1) if ordered else None

        return {
            "events_in": self.events_in,
            "appeals_out": self.appeals_out,
            "status_events_out": self.status_events_out,
            "rejected": self.rejected,
            "filtered": self.filtered,
            "unmapped_codes": self.unmapped_codes,
            "batches": self.batches,
            "insert_retries": self.insert_retries,
            "last_batch_ms": round(self.last_batch_ms, 1),
            "latency_ms_p50": pct(0.50),
            "latency_ms_p99": pct(0.99),
        }


@dataclass
class FeedPart:
    """What one feed contributed to a batch, for its counters and its `stream_batches` row."""

    feed: str
    events_in: int = 0
    appeals: int = 0
    status_events: int = 0
    rejected: int = 0
    filtered: int = 0
    unmapped: int = 0
    oldest_ms: int = 0  # Kafka timestamp of the feed's oldest record in the batch

    def row(self, stored_at: datetime, worker: str, batch_ms: float, latency_ms: float) -> tuple:
        """Its row of `stream_batches` (columns: streams.sink.BATCH_COLUMNS)."""
        return (
            stored_at,
            worker,
            self.feed,
            self.events_in,
            self.appeals,
            self.status_events,
            self.rejected,
            self.filtered,
            self.unmapped,
            batch_ms,
            latency_ms,
        )


def normalize_batch(
    records: Iterable[ConsumerRecord],
    topic_feeds: dict[str, str],
    ingested_at: datetime,
    settings: Settings,
    pseudonymizer: Pseudonymizer,
) -> tuple[Batch, dict[str, FeedPart]]:
    """Every record of one poll, whatever its feed, normalized into one batch to store."""
    offsets: dict[tuple[str, int], tuple[int, int]] = {}
    batch = Batch(offsets)
    parts: dict[str, FeedPart] = {}
    region_tz = settings.tz
    appeals, status_events, rejected = batch.appeals.append, batch.status_events.append, batch.rejected.append
    outcomes, controls = batch.outcomes.append, batch.control_totals.append
    for record in records:
        topic, partition, offset = record.topic, record.partition, record.offset
        feed = topic_feeds[topic]
        part = parts.get(feed)
        if part is None:
            part = parts[feed] = FeedPart(feed, oldest_ms=record.timestamp)
        part.events_in += 1
        part.oldest_ms = min(part.oldest_ms, record.timestamp)
        key = (topic, partition)
        first_last = offsets.get(key)  # a partition's records come in offset order
        offsets[key] = (offset if first_last is None else first_last[0], offset)
        ctx = Context(KafkaMeta(topic, partition, offset), ingested_at, region_tz, pseudonymizer)
        result = normalize_record(feed, NORMALIZERS[feed], record.value, ctx, key=record.key)
        day = export_day_of(record.headers)
        if isinstance(result, Rejected):
            rejected(result)
            part.rejected += 1
            part.unmapped += result.unmapped_code
            outcomes((feed, day, topic, partition, offset, "rejected", "", False, [], ingested_at))
            continue
        if isinstance(result, ControlTotal):
            controls(result.as_row(topic, partition, offset, ingested_at))
            outcomes((feed, day, topic, partition, offset, "control", "", False, [], ingested_at))
            continue
        if not result:
            part.filtered += 1
            outcomes((feed, day, topic, partition, offset, "filtered", "", False, [], ingested_at))
            continue
        has_appeal = False
        keys = []
        for canonical in result:
            if isinstance(canonical, Appeal):
                appeals(canonical)
                part.appeals += 1
                has_appeal = True
            elif isinstance(canonical, StatusEvent):
                status_events(canonical)
                part.status_events += 1
                keys.append((canonical.event_at, canonical.status))
        source_id = result[0].source_id
        outcomes((feed, day, topic, partition, offset, "landed", source_id, has_appeal, keys, ingested_at))
    return batch, parts


class _SettleBeforeRevoking(ConsumerRebalanceListener):
    """Partitions move only between batches: what was stored is committed, what was being taken is dropped."""

    def __init__(self, ingester: Ingester) -> None:
        self.ingester = ingester

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self.ingester.generation += 1  # a batch still being taken comes again to the partitions' next owner
        await self.ingester.settle()
        log.info("partitions revoked: %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(revoked)))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info("partitions assigned: %s", ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(assigned)))


class Ingester(Service):
    """One consumer of every raw topic; the loop cuts, normalizes, stores and commits batches.

    Two batches overlap: while one is being written to ClickHouse (in a thread, mostly waiting for
    the server), the next is taken and normalized. Batches are stored and committed strictly in
    the order they were taken.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        worker: str,
        pseudonymizer: Pseudonymizer,
        counters: dict[str, FeedCounters],
        batch_max: int,
        batch_within_s: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.worker = worker
        self.pseudonymizer = pseudonymizer
        self.counters = counters
        self.batch_max = batch_max
        self.batch_within_s = batch_within_s
        self.topic_feeds = {topic: feed for feed, topic in settings.raw_topics.items()}
        self.in_flight = asyncio.Lock()  # held while a taken batch is normalized and handed to storing
        self.storing: asyncio.Future[None] | None = None  # the batch being stored and committed
        self.generation = 0  # partition revocations so far: a batch taken across one is dropped
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None  # the dead-letter topic's
        self.sink: ClickHouseSink | None = None

    async def on_start(self) -> None:
        # Everything loaded so far (Faust, aiokafka, the taxonomy, the calendar) lives as long as the
        # worker: keep it out of the collector's full passes, which otherwise walk it again and again.
        gc.freeze()
        self.sink = ClickHouseSink(self.settings)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.settings.streams_app_id,
            client_id=f"{self.settings.streams_app_id}-{self.worker}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self.consumer.subscribe(list(self.topic_feeds), listener=_SettleBeforeRevoking(self))
        self.producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=5)
        await self.producer.start()
        await self.consumer.start()

    async def on_stop(self) -> None:
        try:
            await self.settle()  # let the batches in flight finish storing and committing
        finally:
            if self.consumer is not None:
                await self.consumer.stop()
            if self.producer is not None:
                await self.producer.stop()
            if self.sink is not None:
                self.sink.close()

    async def settle(self) -> None:
        """Return once every batch taken so far is stored and committed."""
        async with self.in_flight:
            await self._stored()

    async def _stored(self) -> None:
        storing, self.storing = self.storing, None
        if storing is not None:
            await storing

    @Service.task
    async def _ingest(self) -> None:
        while not self.should_stop:
            try:
                # Not under the lock: aiokafka's poll waits out a rebalance, whose revocation needs the lock.
                records, generation = await self._take()
            except KafkaError as exc:  # the broker away, a rejoin: aiokafka reconnects, we poll again
                log.warning("polling the raw topics failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
                continue
            # Anything failing from here on stops the worker: the batch's offsets stay uncommitted.
            async with self.in_flight:
                if not records or generation != self.generation:
                    continue  # nothing taken, or taken from partitions that have moved since
                started = time.perf_counter()
                batch, parts = normalize_batch(
                    records, self.topic_feeds, datetime.now(UTC), self.settings, self.pseudonymizer
                )
                await self._stored()  # the previous batch first: offsets are committed in order
                self.storing = asyncio.ensure_future(self._store(batch, parts, started))

    async def _take(self) -> tuple[list[ConsumerRecord], int]:
        """Records until the batch is full or `batch_within_s` passed since its first record, and the
        partition generation they were all taken in."""
        assert self.consumer is not None
        records: list[ConsumerRecord] = []
        generation = self.generation
        deadline: float | None = None
        while len(records) < self.batch_max and not self.should_stop:
            wait_s = self.batch_within_s if deadline is None else deadline - time.monotonic()
            if wait_s <= 0:
                break
            wanted = self.batch_max - len(records)
            try:
                polled = await self.consumer.getmany(timeout_ms=int(wait_s * 1000), max_records=wanted)
            except KafkaError:
                if not records:
                    raise
                # The consumer's position is past what was taken: store it rather than drop it (the
                # error comes again with the next poll, if it lasts).
                break
            if generation != self.generation:  # partitions moved during the poll: start the batch afresh
                records, generation, deadline = [], self.generation, None
            for tp_records in polled.values():
                records.extend(tp_records)
            if records and deadline is None:
                deadline = time.monotonic() + self.batch_within_s
            elif not records:
                break  # nothing within the wait: let the loop check for shutdown
        return records, generation

    async def _store(self, batch: Batch, parts: dict[str, FeedPart], started: float) -> None:
        assert self.sink is not None
        await asyncio.to_thread(self.sink.write, batch)
        await self._send_dead_letters(batch.rejected)
        await self._commit(batch)
        batch_ms = (time.perf_counter() - started) * 1000
        now = time.time()
        stored_at = datetime.now(UTC)
        rows = []
        for part in parts.values():
            latency_ms = max(0.0, now * 1000 - part.oldest_ms)
            self.counters[part.feed].add(part, batch_ms, latency_ms, self.sink.retries)
            rows.append(part.row(stored_at, self.worker, batch_ms, latency_ms))
            log.info(
                "%s: %d in, %d appeals, %d status events, %d rejected (%d unmapped), stored in %.0f ms",
                part.feed,
                part.events_in,
                part.appeals,
                part.status_events,
                part.rejected,
                part.unmapped,
                batch_ms,
            )
        await asyncio.to_thread(self.sink.record_batches, rows)

    async def _send_dead_letters(self, rejected: list[Rejected]) -> None:
        """Delivered (acknowledged by the broker) before the batch's offsets are committed; retried
        while the broker is away, like the inserts (a copy sent twice is keyed by its offset)."""
        assert self.producer is not None
        topic = self.settings.dead_letter_topic
        messages = [
            (
                f"{r.meta.topic}:{r.meta.partition}:{r.meta.offset}".encode(),
                json.dumps(dead_letter_value(r), ensure_ascii=False).encode(),
            )
            for r in rejected
        ]
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                deliveries = [await self.producer.send(topic, key=key, value=value) for key, value in messages]
                await asyncio.gather(*deliveries)
                return
            except KafkaError as exc:
                log.warning("dead letters not delivered (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def _commit(self, batch: Batch) -> None:
        assert self.consumer is not None
        offsets = {
            TopicPartition(topic, partition): last + 1 for (topic, partition), (_, last) in batch.offsets.items()
        }
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # Stored, but the partitions moved on (this worker was dropped from the group): the next
            # owner reads these records again, and they collapse with the stored rows by key.
            log.warning("offsets of a stored batch not committed, its records will come again: %s", exc)
        except KafkaError as exc:
            log.warning("could not commit offsets of a stored batch (%s); the next batch commits past them", exc)


def dead_letter_value(record: Rejected) -> dict[str, Any]:
    """The dead-letter topic's message: the reason and the raw record, readable and byte-exact."""
    return {
        "feed": record.feed,
        "topic": record.meta.topic,
        "partition": record.meta.partition,
        "offset": record.meta.offset,
        "reason": record.reason,
        "unmapped_code": record.unmapped_code,
        "raw_payload": record.raw_payload.decode("utf-8", errors="replace"),
        "raw_payload_b64": base64.b64encode(record.raw_payload).decode("ascii"),
    }
