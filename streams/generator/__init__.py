"""Stand-in for the four source systems, reproducible from a seed, that knows the ground truth of what it sent.

One module per source (`pos`, `emergency_112`, `safe_city`, `housing`) models how that system really sends
an appeal's life: POS an appeal and then separate status changes over the following days, 112 a card
re-sent on each update, Safe City detections with bursts and heartbeat noise, the housing inspectorate a
complaint and then inspection, order and result records. `core.finish` adds what every real feed does:
late and out-of-order delivery, exact replays, Windows-1251, missing optional fields, malformed records.

`generate_day(day, appeals, seed, region_tz)` returns the raw events in the order their sources send them
and a `Truth`: per feed the exact set of canonical appeals, the distinct status events (after replays
collapse on their ClickHouse key), the current status per appeal, rejected records by reason kind,
filtered records, unmapped codes; the Safe City burst groups; appeals per region-local day.

    python -m streams.generator --days 3 --appeals-per-day 2000     # history, published as fast as possible
    python -m streams.generator --rate 20 --duration 600            # a live stream at 20 appeals per second
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from cur import settings as settings_module
from streams.generator import emergency_112, housing, pos, safe_city
from streams.generator.core import (
    FEED_WEIGHTS,
    FEEDS,
    NO_QUIRKS,
    QUIRKS,
    Breaker,
    Draft,
    Expect,
    FeedTruth,
    Gen,
    Quirks,
    RawEvent,
    Truth,
    finish,
)

__all__ = [
    "FEEDS",
    "FEED_WEIGHTS",
    "NO_QUIRKS",
    "QUIRKS",
    "Expect",
    "FeedTruth",
    "GeneratedDay",
    "Quirks",
    "RawEvent",
    "Truth",
    "generate_day",
    "generate_days",
    "publish",
]

Maker = Callable[[Gen, int, datetime], list[Draft]]
MAKERS: dict[str, Maker] = {
    "pos": pos.appeal,
    "112": emergency_112.incident,
    "safe_city": safe_city.scene,
    "housing": housing.complaint,
}
BREAKERS: dict[str, Breaker] = {
    "pos": pos.break_record,
    "112": emergency_112.break_record,
    "safe_city": safe_city.break_record,
    "housing": housing.break_record,
}


@dataclass
class GeneratedDay:
    day: date
    events: list[RawEvent]  # in the order the sources send them
    truth: Truth


def day_uid(day: date, n: int) -> int:
    """A source-wide unique number of the n-th appeal of a day (ids of every feed derive from it)."""
    return int(f"{day:%Y%m%d}{n:06d}")


def generate_day(
    day: date,
    appeals: int,
    seed: int,
    region_tz: ZoneInfo,
    *,
    until: datetime | None = None,
    quirks: Quirks = QUIRKS,
) -> GeneratedDay:
    """The raw events of `appeals` appeals created on the region-local `day`, and their ground truth.

    `appeals` counts appeal lives started that day (a Safe City scene seen by several cameras is one); the
    exact number of canonical appeals is in the truth. Their status changes follow over the next days;
    `until` (aware) leaves out whatever would happen after it, so a history ends at "now".
    """
    gen = Gen(random.Random(f"{seed}:{day.isoformat()}"), region_tz, quirks=quirks, until=until)
    feeds = gen.rng.choices(FEEDS, weights=[FEED_WEIGHTS[feed] for feed in FEEDS], k=appeals)
    drafts: list[Draft] = []
    for n, feed in enumerate(feeds):
        drafts += MAKERS[feed](gen, day_uid(day, n), gen.moment_in(day))
    drafts += safe_city.heartbeats(gen, day, round(appeals * quirks.heartbeats_per_appeal))
    events = finish(gen, drafts, BREAKERS)
    return GeneratedDay(day, events, Truth.of(events, region_tz, gen.personal_data))


def generate_days(
    days: Iterable[date],
    appeals_per_day: int,
    seed: int,
    region_tz: ZoneInfo,
    *,
    until: datetime | None = None,
    quirks: Quirks = QUIRKS,
) -> tuple[list[RawEvent], Truth]:
    """Several days merged in send order: late records of earlier days arrive among later days' records."""
    events: list[RawEvent] = []
    truth = Truth(region_tz)
    for day in days:
        generated = generate_day(day, appeals_per_day, seed, region_tz, until=until, quirks=quirks)
        events += generated.events
        truth = truth.merge(generated.truth)
    events.sort(key=lambda e: e.sent_at)
    return events, truth


async def publish(
    events: list[RawEvent], settings: settings_module.Settings, *, progress: Callable[[int], None] | None = None
) -> None:
    """Send to the raw topics as fast as Kafka takes them; the key (the appeal's source id) keeps every
    record of one appeal in one partition, hence in order for one consumer."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        for n, event in enumerate(events, start=1):
            await producer.send(settings.raw_topics[event.feed], key=event.key, value=event.value)
            if progress is not None and n % 5000 == 0:
                progress(n)
        await producer.flush()
    finally:
        await producer.stop()
