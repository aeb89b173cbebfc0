"""The bulk loader's pure parts: Kafka metadata it makes up, the cut at `until`, and rows that add up to the
generator's truth exactly (distinct appeals and status events as FINAL collapses them, every rejected record).
The load into the real ClickHouse is tests/e2e/test_bulk_history.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import pytest

from cur import settings as settings_module
from cur.pseudonymize import Pseudonymizer
from cur.schema import COLUMNS, STATUS_EVENT_COLUMNS
from streams.generator import FEEDS, GeneratedDay, RawEvent, Truth, bulk, generate_day
from streams.sink import REJECTED_COLUMNS

SETTINGS = settings_module.load()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PSEUDONYMIZER = Pseudonymizer(b"unit-test-key-unit-test-key")
DAY = date(2026, 10, 14)


@pytest.fixture(scope="module")
def generated() -> GeneratedDay:
    return generate_day(DAY, 600, seed=11, region_tz=SETTINGS.tz)


def _rows(events: Sequence[RawEvent], until: datetime | None = None) -> bulk.DayRows:
    rows = bulk.DayRows(DAY)
    for batch, parts, ingested_at in bulk.normalized_batches(DAY, events, SETTINGS, PSEUDONYMIZER, until=until):
        rows.add(batch, parts, ingested_at)
    return rows


def test_offsets_read_as_their_day() -> None:
    assert bulk.day_offset(date(2026, 11, 25), 42) == 20261125_000000042
    assert bulk.day_offset(date(2026, 11, 25), 0) > bulk.day_offset(date(2026, 11, 24), bulk.DAY_OFFSETS - 1)


def test_ingested_within_the_minute_after_sending() -> None:
    on_minute = datetime(2026, 10, 14, 8, 30, tzinfo=UTC)
    assert bulk.ingested_at_for(on_minute) == on_minute
    assert bulk.ingested_at_for(on_minute + timedelta(microseconds=1)) == on_minute + timedelta(minutes=1)
    assert bulk.ingested_at_for(on_minute + timedelta(seconds=59.9)) == on_minute + timedelta(minutes=1)


def test_kafka_metadata_is_a_sequence_per_topic(generated: GeneratedDay) -> None:
    records = list(bulk.kafka_records(DAY, generated.events, SETTINGS))
    assert len(records) == len(generated.events)
    by_topic: dict[str, list[int]] = {}
    for (record, ingested_at), event in zip(records, generated.events, strict=True):
        assert record.topic == f"bulk.raw.{event.feed}"
        assert record.partition == 0
        assert (record.key, record.value) == (event.key, event.value)  # byte for byte
        assert record.timestamp == (event.sent_at - EPOCH) // timedelta(milliseconds=1)
        assert event.sent_at <= ingested_at < event.sent_at + timedelta(minutes=1)
        by_topic.setdefault(record.topic, []).append(record.offset)
    assert set(by_topic) == {f"bulk.raw.{feed}" for feed in FEEDS}
    for offsets in by_topic.values():
        first = bulk.day_offset(DAY, 0)
        assert offsets == list(range(first, first + len(offsets)))


def test_records_not_sent_by_until_are_left_out_and_a_later_until_moves_no_offset(generated: GeneratedDay) -> None:
    noon = datetime(2026, 10, 14, 9, tzinfo=UTC)
    early = list(bulk.kafka_records(DAY, generated.events, SETTINGS, until=noon))
    late = list(bulk.kafka_records(DAY, generated.events, SETTINGS, until=noon + timedelta(days=1)))
    assert len(early) == sum(e.sent_at <= noon for e in generated.events)
    assert 0 < len(early) < len(late) < len(generated.events)
    place = {(r.topic, r.value, r.timestamp): r.offset for r, _ in late}
    assert all(place[(r.topic, r.value, r.timestamp)] == r.offset for r, _ in early)


def _assert_rows_are_the_truth(rows: bulk.DayRows, truth: Truth) -> None:
    for feed in FEEDS:
        expected, counted = truth.feeds[feed], rows.feeds[feed]
        assert counted.appeals == len(expected.appeals), feed
        assert counted.status_events == len(expected.status_events), feed
        assert counted.rejected == expected.rejected, feed
        assert counted.filtered == expected.filtered, feed
        assert counted.records == expected.records, feed
    source = COLUMNS.index("source"), COLUMNS.index("source_id")
    landed = {(row[source[0]], row[source[1]]) for row in rows.appeals}
    assert landed == {(feed, sid) for feed in FEEDS for sid in truth.feeds[feed].appeals}
    assert len(rows.rejected) == sum(truth.feeds[feed].rejected for feed in FEEDS)


def test_rows_add_up_to_the_generators_truth(generated: GeneratedDay) -> None:
    rows = _rows(generated.events)
    _assert_rows_are_the_truth(rows, generated.truth)
    assert rows.feeds["112"].appeal_rows > rows.feeds["112"].appeals  # cards re-sent: FINAL collapses them
    assert {len(r) for r in rows.appeals} == {len(COLUMNS)}
    assert {len(r) for r in rows.status_events} == {len(STATUS_EVENT_COLUMNS)}
    assert {len(r) for r in rows.rejected} == {len(REJECTED_COLUMNS)}


def test_rows_of_a_cut_history_are_the_truth_of_what_was_sent(generated: GeneratedDay) -> None:
    until = datetime(2026, 10, 14, 12, tzinfo=UTC)
    sent = [e for e in generated.events if e.sent_at <= until]
    _assert_rows_are_the_truth(_rows(generated.events, until), Truth.of(sent, SETTINGS.tz))


def test_rows_carry_their_records_metadata_and_are_the_same_on_every_load(generated: GeneratedDay) -> None:
    first, again = _rows(generated.events), _rows(generated.events)
    assert (first.appeals, first.status_events, first.rejected) == (again.appeals, again.status_events, again.rejected)
    topic, partition, offset, ingested = (
        COLUMNS.index(c) for c in ("kafka_topic", "kafka_partition", "kafka_offset", "ingested_at")
    )
    sent_ms = {(r.topic, r.offset): r.timestamp for r, _ in bulk.kafka_records(DAY, generated.events, SETTINGS)}
    for row in first.appeals:
        assert row[partition] == 0
        assert 0 <= row[ingested] - sent_ms[(row[topic], row[offset])] < 60_000  # epoch ms, as the sink writes
    rejected_at = REJECTED_COLUMNS.index("rejected_at")
    assert all(isinstance(row[rejected_at], datetime) for row in first.rejected)


class _Collecting:
    def __init__(self) -> None:
        self.inserts: list[Sequence[list[tuple]]] = []

    def write(self, tables: Sequence[list[tuple]]) -> None:
        self.inserts.append(tables)


def test_a_day_is_inserted_in_blocks_and_counted(monkeypatch: pytest.MonkeyPatch, generated: GeneratedDay) -> None:
    monkeypatch.setattr(bulk, "FLUSH_ROWS", 500)
    writer = _Collecting()
    load = bulk.load_day(DAY, 600, 11, SETTINGS, PSEUDONYMIZER, writer, until=None)
    assert len(writer.inserts) > 3
    assert all(sum(map(len, tables)) < 500 + 200 for tables in writer.inserts[:-1])
    written = [sum(len(tables[i]) for tables in writer.inserts) for i in range(3)]
    assert written == [
        sum(c.appeal_rows for c in load.feeds.values()),
        sum(c.status_event_rows for c in load.feeds.values()),
        sum(c.rejected for c in load.feeds.values()),
    ]
    assert {feed: c.appeals for feed, c in load.feeds.items()} == {
        feed: len(t.appeals) for feed, t in generated.truth.feeds.items()
    }
    assert load.not_sent == 0


def test_appeals_spread_exactly_over_the_days() -> None:
    assert bulk.spread(10, 4) == [2, 3, 2, 3]
    for total, days in ((1_000_000, 365), (7, 7), (3, 5)):
        parts = bulk.spread(total, days)
        assert sum(parts) == total and len(parts) == days and max(parts) - min(parts) <= 1
    assert Counter(bulk.spread(10_000_000, 100)) == Counter({100_000: 100})
