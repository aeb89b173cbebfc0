"""The Faust worker: normalizes every raw feed into ClickHouse.

The records themselves go through the ingester (streams/ingest.py), a service of this app that
consumes the raw topics in batches: a batch is normalized, written to ClickHouse (streams/sink.py),
its rejected records delivered to the dead-letter topic, and only then are its offsets committed.
Several workers with the same `CUR_STREAMS_APP_ID` share the partitions; a rebalance hands a
partition over after the batch in flight is committed.

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
import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

import faust

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.pseudonymize import Pseudonymizer
from streams.feeds import NORMALIZERS
from streams.ingest import FeedCounters, Ingester

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

# The raw topics' consumer group is `streams_app_id` (the ingester's); Faust's own group, which only
# elects the leader for the timers, gets a name of its own.
app = faust.App(
    f"{settings.streams_app_id}-worker",
    broker=";".join(f"kafka://{server}" for server in settings.kafka_bootstrap.split(",")),
    store="memory://",
    datadir=str(settings.state_dir / "data" / "streams"),
    web_bind="127.0.0.1",
    web_port=settings.streams_web_port,
    web_host="127.0.0.1",
)


COUNTERS: dict[str, FeedCounters] = {feed: FeedCounters() for feed in NORMALIZERS}
LAST_LAG: dict[str, Any] = {"sampled_at": None, "partitions": []}


@app.service
class WorkerIngester(Ingester):
    """The worker's ingester (streams/ingest.py), started and stopped with the Faust app."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            settings,
            worker=WORKER,
            pseudonymizer=PSEUDONYMIZER,
            counters=COUNTERS,
            batch_max=BATCH_MAX,
            batch_within_s=BATCH_WITHIN_S,
            **kwargs,
        )


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
