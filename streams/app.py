"""The Faust application: one agent per feed, each normalizing its raw topic into ClickHouse.

Agents consume in batches (`take_events`, bounded in size and time): a batch is normalized,
written to ClickHouse (streams/sink.py), its rejected records published to the dead-letter topic,
and only then does the agent take the next batch; Faust acknowledges a taken batch only at that
point, so committed offsets never pass a record that is not stored. Several workers with the same
application id share the partitions; a rebalance hands a partition over from its last commit.

What an operator looks at:
- `GET /metrics/` on the worker's web view: events in / appeals and status events out / rejected
  and unmapped codes per feed, batch time, produce-to-stored latency, insert retries, consumer
  lag per partition;
- ClickHouse tables `stream_batches` (one row per stored batch) and `consumer_lag` (sampled by
  the leader worker), both kept 30 days;
- `rejected_events` and the dead-letter topic for what was refused, and why.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import faust

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.pseudonymize import Pseudonymizer
from cur.schema import Appeal, StatusEvent
from streams.feeds import NORMALIZERS
from streams.records import Context, KafkaMeta, Rejected, normalize_record
from streams.sink import Batch, ClickHouseSink

BATCH_MAX = int(os.environ.get("CUR_STREAMS_BATCH_MAX", "5000"))
BATCH_WITHIN_S = float(os.environ.get("CUR_STREAMS_BATCH_WITHIN_S", "0.5"))
LAG_SAMPLE_S = 15.0

log = logging.getLogger("streams")
settings = settings_module.load()
WORKER = f"{socket.gethostname()}:{os.getpid()}"
PSEUDONYMIZER = Pseudonymizer.from_settings(settings)
if settings.pseudonymization_key == settings_module.DEV_PSEUDONYMIZATION_KEY:
    log.warning(
        "CUR_PSEUDONYMIZATION_KEY is not set: applicants are pseudonymized with the development key,"
        " which is fine for a demo and wrong for real personal data"
    )

app = faust.App(
    settings.streams_app_id,
    broker=";".join(f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")),
    key_serializer="raw",
    value_serializer="raw",
    store="memory://",
    datadir=str(settings.state_dir / "data" / "streams"),
    topic_partitions=4,
    consumer_auto_offset_reset="earliest",
    web_bind="127.0.0.1",
    web_port=settings.streams_web_port,
    web_host="127.0.0.1",
)
dead_letter_topic = app.topic(settings.dead_letter_topic, key_serializer="raw", value_serializer="json")


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


COUNTERS: dict[str, FeedCounters] = {feed: FeedCounters() for feed in NORMALIZERS}
LAST_LAG: dict[str, Any] = {"sampled_at": None, "partitions": []}


def normalize_batch(feed: str, events: list[faust.EventT], ingested_at: datetime) -> Batch:
    normalizer = NORMALIZERS[feed]
    offsets: dict[tuple[str, int], tuple[int, int]] = {}
    batch = Batch(feed, offsets)
    for event in events:
        message = event.message
        key = (message.topic, message.partition)
        first, last = offsets.get(key, (message.offset, message.offset))
        offsets[key] = (min(first, message.offset), max(last, message.offset))
        ctx = Context(
            KafkaMeta(message.topic, message.partition, message.offset), ingested_at, settings.tz, PSEUDONYMIZER
        )
        result = normalize_record(feed, normalizer, event.value, ctx, key=message.key)
        if isinstance(result, Rejected):
            batch.rejected.append(result)
            continue
        if not result:
            batch.filtered += 1
        for record in result:
            if isinstance(record, Appeal):
                batch.appeals.append(record)
            elif isinstance(record, StatusEvent):
                batch.status_events.append(record)
    return batch


async def publish_dead_letters(rejected: list[Rejected]) -> None:
    for record in rejected:
        await dead_letter_topic.send(
            key=f"{record.meta.topic}:{record.meta.partition}:{record.meta.offset}".encode(),
            value={
                "feed": record.feed,
                "topic": record.meta.topic,
                "partition": record.meta.partition,
                "offset": record.meta.offset,
                "reason": record.reason,
                "unmapped_code": record.unmapped_code,
                "raw_payload": record.raw_payload.decode("utf-8", errors="replace"),
                "raw_payload_b64": base64.b64encode(record.raw_payload).decode("ascii"),
            },
        )


def make_agent(feed: str) -> None:
    topic = app.topic(settings.raw_topics[feed], key_serializer="raw", value_serializer="raw")
    counters = COUNTERS[feed]

    async def normalize_feed(stream: faust.StreamT) -> None:
        sink = ClickHouseSink(settings)
        try:
            async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
                started = time.perf_counter()
                events = list(events)
                batch = normalize_batch(feed, events, datetime.now(UTC))
                await asyncio.to_thread(sink.write, batch)
                await publish_dead_letters(batch.rejected)
                batch_ms = (time.perf_counter() - started) * 1000
                oldest = min(event.message.timestamp for event in events)
                latency_ms = max(0.0, time.time() - oldest) * 1000
                unmapped = sum(r.unmapped_code for r in batch.rejected)
                counters.events_in += len(events)
                counters.appeals_out += len(batch.appeals)
                counters.status_events_out += len(batch.status_events)
                counters.rejected += len(batch.rejected)
                counters.filtered += batch.filtered
                counters.unmapped_codes += unmapped
                counters.batches += 1
                counters.insert_retries = sink.retries
                counters.last_batch_ms = batch_ms
                counters.latencies_ms.append(latency_ms)
                row = (
                    datetime.now(UTC),
                    WORKER,
                    feed,
                    len(events),
                    len(batch.appeals),
                    len(batch.status_events),
                    len(batch.rejected),
                    batch.filtered,
                    unmapped,
                    batch_ms,
                    latency_ms,
                )
                await asyncio.to_thread(sink.record_batch, row)
                log.info(
                    "%s: %d in, %d appeals, %d status events, %d rejected (%d unmapped), stored in %.0f ms",
                    feed,
                    len(events),
                    len(batch.appeals),
                    len(batch.status_events),
                    len(batch.rejected),
                    unmapped,
                    batch_ms,
                )
        finally:
            sink.close()

    normalize_feed.__name__ = normalize_feed.__qualname__ = f"normalize_{feed}"
    app.agent(topic, name=f"normalize_{feed}")(normalize_feed)


for _feed in NORMALIZERS:
    make_agent(_feed)


async def sample_consumer_lag() -> list[tuple]:
    """Committed offset and end offset of every raw topic partition for this consumer group."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.streams_app_id)
        # Partitions from the cluster itself: a consumer without subscriptions has no metadata.
        tps = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in await admin.describe_topics(list(settings.raw_topics.values()))
            for partition in sorted(topic["partitions"], key=lambda p: p["partition"])
        ]
        if not tps:
            raise RuntimeError("the raw topics have no partitions")
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
        await admin.close()
    now = datetime.now(UTC)
    rows = []
    for tp in tps:
        meta = committed.get(tp)
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        rows.append((now, WORKER, settings.streams_app_id, tp.topic, tp.partition, done, ends[tp], ends[tp] - done))
    return rows


@app.timer(interval=LAG_SAMPLE_S, on_leader=True)
async def record_consumer_lag() -> None:
    try:
        rows = await asyncio.wait_for(sample_consumer_lag(), timeout=LAG_SAMPLE_S)
    except Exception as exc:  # a sampling failure (or a hang) must never stop the worker
        log.warning("could not sample consumer lag: %s", repr(exc))
        return
    LAST_LAG.update(
        sampled_at=rows[0][0].isoformat() if rows else None,
        partitions=[{"topic": r[3], "partition": r[4], "committed": r[5], "end": r[6], "lag": r[7]} for r in rows],
    )

    def store() -> None:
        client = native_client(settings, database=settings.clickhouse_database)
        try:
            client.execute(
                "INSERT INTO consumer_lag (sampled_at, worker, consumer_group, topic, partition,"
                " committed_offset, end_offset, lag) VALUES",
                rows,
            )
        finally:
            client.disconnect()

    try:
        await asyncio.to_thread(store)
    except Exception as exc:
        log.warning("could not store consumer lag: %s", exc)


@app.page("/metrics/")
async def metrics_page(web: faust.web.View, request: faust.web.Request) -> faust.web.Response:
    """This worker's counters per feed and the last consumer-lag sample (JSON)."""
    lag_by_topic: dict[str, int] = {}
    for row in LAST_LAG["partitions"]:
        lag_by_topic[row["topic"]] = lag_by_topic.get(row["topic"], 0) + row["lag"]
    return web.json(
        {
            "worker": WORKER,
            "consumer_group": settings.streams_app_id,
            "feeds": {feed: c.as_dict() for feed, c in COUNTERS.items()},
            # Sampled by the leader worker only; other workers show their last sample, if any.
            "consumer_lag": {"by_topic": lag_by_topic, **LAST_LAG},
        }
    )
