"""Command line of the generator: replay history quickly, or run a steady live stream.

    python -m streams.generator --days 3 --appeals-per-day 2000 [--end 2026-11-23] [--seed 7] [--dry-run]
    python -m streams.generator --rate 20 --duration 600 [--speedup 60] [--seed 7] [--dry-run]

History: the appeals of each region-local day up to `--end` (default yesterday), their status changes over the
following days up to now, every record published as fast as Kafka takes it, in the order the sources would
have sent them. Live: R new appeals per second created now, each record published when its source would send
it; `--speedup K` makes lifecycles K times faster (an answer due in hours comes in minutes). Both print the
ground truth of what was published; `--dry-run` generates and prints it without Kafka.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

from cur import settings as settings_module
from streams.generator import BREAKERS, FEED_WEIGHTS, FEEDS, MAKERS, QUIRKS, generate_days, publish
from streams.generator.core import Gen, RawEvent, Truth, finish
from streams.generator.safe_city import heartbeat


def _print_truth(truth: Truth) -> None:
    for line in truth.summary():
        print(line)
    per_day = truth.appeals_per_day()
    for day in sorted(per_day):
        print(f"  appeals created on {day}: {per_day[day]}")


def history(args: argparse.Namespace, settings: settings_module.Settings) -> None:
    end: date = args.end or datetime.now(settings.tz).date() - timedelta(days=1)
    days = [end - timedelta(days=n) for n in range(args.days - 1, -1, -1)]
    started = time.monotonic()
    events, truth = generate_days(days, args.appeals_per_day, args.seed, settings.tz, until=datetime.now(UTC))
    print(f"generated {len(events)} raw records for {days[0]}..{days[-1]} in {time.monotonic() - started:.1f}s")
    if not args.dry_run:

        def progress(n: int) -> None:
            print(f"  published {n}/{len(events)} ({n / (time.monotonic() - started):.0f} records/s)", flush=True)

        asyncio.run(publish(events, settings, progress=progress))
        print(f"published {len(events)} raw records to {settings.kafka_bootstrap}")
    _print_truth(truth)


class _Producer:
    """Sends one record at a time to its raw topic (nothing at all in a dry run)."""

    def __init__(self, settings: settings_module.Settings, dry_run: bool) -> None:
        self.settings, self.dry_run = settings, dry_run
        self.producer = None

    async def __aenter__(self) -> Callable[[RawEvent], Awaitable[None]]:
        if not self.dry_run:
            from aiokafka import AIOKafkaProducer

            self.producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all", linger_ms=5)
            await self.producer.start()
        return self.send

    async def send(self, event: RawEvent) -> None:
        if self.producer is not None:
            await self.producer.send(self.settings.raw_topics[event.feed], key=event.key, value=event.value)

    async def __aexit__(self, *exc: object) -> None:
        if self.producer is not None:
            await self.producer.flush()
            await self.producer.stop()


async def live(args: argparse.Namespace, settings: settings_module.Settings) -> None:
    """R appeals per second created now; each record sent when due; progress every second."""
    gen = Gen(random.Random(f"{args.seed}:live"), settings.tz, quirks=QUIRKS, scale=1 / args.speedup)
    base = int(datetime.now(UTC).timestamp())  # run-unique prefix of the ids
    pending: list[tuple[datetime, int, RawEvent]] = []
    truth = Truth(settings.tz)
    weights = [FEED_WEIGHTS[feed] for feed in FEEDS]
    made = pings = sent = order = 0
    started = time.monotonic()
    next_report = 1.0

    def schedule(events: list[RawEvent]) -> None:
        nonlocal order
        for event in events:
            heapq.heappush(pending, (event.sent_at, order, event))
            order += 1

    async with _Producer(settings, args.dry_run) as send:
        while (elapsed := time.monotonic() - started) < args.duration:
            now = datetime.now(UTC).replace(microsecond=0)
            while made < args.rate * elapsed:
                feed = gen.rng.choices(FEEDS, weights=weights)[0]
                schedule(finish(gen, MAKERS[feed](gen, int(f"{base}{made:06d}"), now, None), BREAKERS))
                made += 1
            while pings < args.rate * elapsed * QUIRKS.heartbeats_per_appeal:
                schedule(finish(gen, [heartbeat(gen, now)], BREAKERS))
                pings += 1
            current = datetime.now(UTC)
            while pending and pending[0][0] <= current:
                event = heapq.heappop(pending)[2]
                await send(event)
                truth.add(event)
                sent += 1
            if elapsed >= next_report:
                print(
                    f"{elapsed:6.0f}s  appeals started {made}  records sent {sent} ({sent / elapsed:.0f}/s)"
                    f"  waiting for their time {len(pending)}",
                    flush=True,
                )
                next_report += 1
            await asyncio.sleep(0.02)
    print(f"stopped after {args.duration:.0f}s: {sent} records sent, {len(pending)} not yet due were not sent")
    truth.personal_data = gen.personal_data
    _print_truth(truth)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m streams.generator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=1, help="history: region-local days to generate")
    parser.add_argument("--appeals-per-day", "--appeals", type=int, default=2000, help="history: appeals per day")
    parser.add_argument("--end", "--day", type=date.fromisoformat, help="history: last day (default yesterday)")
    parser.add_argument("--rate", type=float, help="live: new appeals per second (selects the live mode)")
    parser.add_argument("--duration", type=float, default=60.0, help="live: seconds to run")
    parser.add_argument("--speedup", type=float, default=1.0, help="live: lifecycles run this many times faster")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dry-run", action="store_true", help="generate and print the truth, publish nothing")
    args = parser.parse_args(argv)
    if args.days < 1 or args.appeals_per_day < 0 or (args.rate is not None and args.rate <= 0) or args.speedup <= 0:
        parser.error("--days must be >= 1, --appeals-per-day >= 0, --rate and --speedup > 0")
    settings = settings_module.load()
    if args.rate is not None:
        asyncio.run(live(args, settings))
    else:
        history(args, settings)


if __name__ == "__main__":
    sys.exit(main())
