"""The Faust application: one agent per feed, each normalizing its raw topic into ClickHouse.

Agents consume in batches (`take_events`): a batch is normalized, written to ClickHouse, and
only then acknowledged, so offsets advance only past stored records. Rejected records go to the
dead-letter topic and to `rejected_events`, each with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import faust

from cur import settings as settings_module
from cur.schema import Appeal
from streams.feeds import NORMALIZERS
from streams.records import Context, KafkaMeta, Rejected, normalize_record
from streams.sink import ClickHouseSink

BATCH_MAX = 2000
BATCH_WITHIN_S = 0.5

log = logging.getLogger("streams")
settings = settings_module.load()

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


def split_batch(feed: str, events: list[faust.EventT], ingested_at: datetime) -> tuple[list[Appeal], list[Rejected]]:
    normalizer = NORMALIZERS[feed]
    appeals: list[Appeal] = []
    rejected: list[Rejected] = []
    for event in events:
        message = event.message
        ctx = Context(KafkaMeta(message.topic, message.partition, message.offset), ingested_at, settings.tz)
        result = normalize_record(feed, normalizer, event.value, ctx)
        (appeals if isinstance(result, Appeal) else rejected).append(result)
    return appeals, rejected


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
                "raw_payload": record.raw_payload.decode("utf-8", errors="replace"),
            },
        )


def make_agent(feed: str) -> None:
    topic = app.topic(settings.raw_topics[feed], key_serializer="raw", value_serializer="raw")

    async def normalize_feed(stream: faust.StreamT) -> None:
        sink = ClickHouseSink(settings)
        try:
            async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
                started = time.perf_counter()
                appeals, rejected = split_batch(feed, list(events), datetime.now(UTC))
                await asyncio.to_thread(sink.write, appeals, rejected)
                await publish_dead_letters(rejected)
                log.info(
                    "%s: %d in, %d appeals, %d rejected, stored in %.0f ms",
                    feed,
                    len(events),
                    len(appeals),
                    len(rejected),
                    (time.perf_counter() - started) * 1000,
                )
        finally:
            sink.close()

    normalize_feed.__name__ = normalize_feed.__qualname__ = f"normalize_{feed}"
    app.agent(topic, name=f"normalize_{feed}")(normalize_feed)


for _feed in NORMALIZERS:
    make_agent(_feed)
