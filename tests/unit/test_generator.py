"""The demo generator is reproducible and its ground truth matches what the normalizers make of it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from cur.pseudonymize import Pseudonymizer
from cur.schema import Appeal
from streams.feeds import NORMALIZERS
from streams.generator import generate_day
from streams.records import Context, KafkaMeta, Rejected, normalize_record

MSK = ZoneInfo("Europe/Moscow")
PSEUDONYMIZER = Pseudonymizer(b"unit-test-key-unit-test-key")


def test_same_seed_same_events() -> None:
    a = generate_day(date(2026, 11, 20), 300, 1, MSK)
    b = generate_day(date(2026, 11, 20), 300, 1, MSK)
    c = generate_day(date(2026, 11, 20), 300, 2, MSK)
    assert a.events == b.events
    assert a.events != c.events


def test_truth_matches_normalization() -> None:
    day = date(2026, 11, 20)
    generated = generate_day(day, 1000, 7, MSK)
    truth = generated.truth()
    assert sum(c["appeal"] for c in truth.values()) + sum(c["malformed"] for c in truth.values()) == 1000
    assert all(c["appeal"] > 0 for c in truth.values())

    seen: dict[str, set[str]] = {feed: set() for feed in truth}
    outcome: Counter[tuple[str, str]] = Counter()
    for offset, event in enumerate(generated.events):
        ctx = Context(KafkaMeta(f"raw.{event.feed}", 0, offset), datetime.now(UTC), MSK, PSEUDONYMIZER)
        records = normalize_record(event.feed, NORMALIZERS[event.feed], event.value, ctx)
        result = records if isinstance(records, Rejected) else records[0]
        if isinstance(result, Appeal):
            assert result.created_at.astimezone(MSK).date() == day
            new = result.source_id not in seen[event.feed]
            seen[event.feed].add(result.source_id)
            outcome[(event.feed, "appeal" if new else "replay")] += 1
        else:
            outcome[(event.feed, "malformed")] += 1
        assert outcome[(event.feed, event.kind)] > 0, f"{event.kind} event of {event.feed} was not treated as such"
    for feed, counts in truth.items():
        for kind in ("appeal", "replay", "malformed"):
            assert outcome[(feed, kind)] == counts[kind], (feed, kind)
