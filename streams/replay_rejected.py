"""Replay rejected raw records into their raw topics, after the cause has been fixed.

A rejected record stays in `rejected_events` with its exact bytes, Kafka key, origin and reason.
Once the cause is fixed (a code added to the taxonomy mapping, a normalizer corrected), this
command sends the open ones (`rejected_open`: not replayed yet) back to their raw topic, byte for
byte with their key, and logs each replay in `rejected_replays` with the offset it got. The stream
workers then normalize them like any other record; one that is still invalid is rejected again,
under its new offset, with the current reason.

    python -m streams.replay_rejected                       # what is open, per feed and reason
    python -m streams.replay_rejected --replay --feed pos --reason-contains "taxonomy mapping" \\
        --note "POS codes 1603-1605 mapped in feed_codes.csv v2"

Without `--replay` nothing is sent (a dry run). Exit status 0 when done, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from cur import settings as settings_module
from cur.clickhouse import native_client
from cur.settings import Settings

log = logging.getLogger("streams.replay_rejected")
REPLAY_HEADER = "cur-replay-of"
PROGRESS_EVERY = 1000


@dataclass(frozen=True)
class OpenRecord:
    feed: str
    topic: str
    partition: int
    offset: int
    key: bytes
    payload: bytes
    reason: str


def _filters(feed: str | None, reason_contains: str | None) -> tuple[str, dict[str, str]]:
    conditions, params = ["1"], {}
    if feed:
        conditions.append("feed = %(feed)s")
        params["feed"] = feed
    if reason_contains:
        conditions.append("positionCaseInsensitiveUTF8(reason, %(reason)s) > 0")
        params["reason"] = reason_contains
    return " AND ".join(conditions), params


def open_summary(settings: Settings, feed: str | None, reason_contains: str | None) -> list[tuple[str, str, int]]:
    """(feed, reason, count) of the open rejected records that match, most frequent first."""
    where, params = _filters(feed, reason_contains)
    client = native_client(settings, database=settings.clickhouse_database)
    try:
        return client.execute(
            f"SELECT feed, reason, count() AS n FROM rejected_open WHERE {where} GROUP BY feed, reason"
            " ORDER BY n DESC, feed, reason",
            params,
        )
    finally:
        client.disconnect()


def open_records(settings: Settings, feed: str | None, reason_contains: str | None, limit: int) -> list[OpenRecord]:
    where, params = _filters(feed, reason_contains)
    # Payloads and keys come back as the exact bytes that were rejected.
    client = native_client(settings, database=settings.clickhouse_database, client_settings={"strings_as_bytes": True})
    try:
        rows = client.execute(
            "SELECT feed, kafka_topic, kafka_partition, kafka_offset, kafka_key, raw_payload, reason"
            f" FROM rejected_open WHERE {where} ORDER BY kafka_topic, kafka_partition, kafka_offset LIMIT {int(limit)}",
            params,
        )
    finally:
        client.disconnect()
    return [
        OpenRecord(f.decode(), t.decode(), p, o, k, payload, r.decode("utf-8", errors="replace"))
        for f, t, p, o, k, payload, r in rows
    ]


async def replay(settings: Settings, records: list[OpenRecord], note: str) -> int:
    """Send each record back to its raw topic and log the replay; returns how many were replayed."""
    from aiokafka import AIOKafkaProducer

    client = native_client(settings, database=settings.clickhouse_database)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    done = 0
    try:
        for record in records:
            origin = f"{record.topic}:{record.partition}:{record.offset}"
            sent = await producer.send_and_wait(
                record.topic,
                key=record.key or None,
                value=record.payload,
                headers=[(REPLAY_HEADER, origin.encode())],
            )
            # Logged right after the broker has it: a crash here replays at most this one record twice.
            client.execute(
                "INSERT INTO rejected_replays (kafka_topic, kafka_partition, kafka_offset, replayed_at,"
                " replay_partition, replay_offset, operator_note) VALUES",
                [(record.topic, record.partition, record.offset, datetime.now(UTC), sent.partition, sent.offset, note)],
            )
            done += 1
            if done % PROGRESS_EVERY == 0 or done == len(records):
                print(f"  replayed {done}/{len(records)}", flush=True)
    finally:
        await producer.stop()
        client.disconnect()
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feed", choices=settings_module.FEEDS, help="only this feed")
    parser.add_argument("--reason-contains", help="only records whose reason contains this text (any case)")
    parser.add_argument("--limit", type=int, default=1_000_000, help="at most this many records")
    parser.add_argument("--replay", action="store_true", help="send them (without it: only show what is open)")
    parser.add_argument("--note", default="", help="why they are replayed, kept with each replay")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings_module.load()
    try:
        summary = open_summary(settings, args.feed, args.reason_contains)
        total = sum(n for _, _, n in summary)
        print(f"open rejected records matching: {total}")
        for feed, reason, n in summary:
            print(f"  {n:>8}  {feed:<9}  {reason}")
        if not args.replay or total == 0:
            if total:
                print("dry run: nothing sent (add --replay to send them)")
            return 0
        records = open_records(settings, args.feed, args.reason_contains, args.limit)
        done = asyncio.run(replay(settings, records, args.note))
    except Exception as exc:
        print(f"COULD NOT RUN: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"replayed {done} records; the stream workers normalize them again (still invalid ones are rejected anew)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
