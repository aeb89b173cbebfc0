"""The bulk loader on the real ClickHouse: a few days land as exactly the generator's truth, with honest
lineage, and loading them again (through the command line this time) changes nothing after FINAL.

It loads into databases of its own (`cur_bulk_e2e*`, dropped before and after), so no other test's
tables are touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from clickhouse_driver import Client

from cur.settings import REPO_ROOT, Settings
from streams.generator import FEEDS, Truth, generate_day
from streams.generator.bulk import DAY_OFFSETS, Summary, day_offset, load_history
from tests.e2e.conftest import own_database

pytestmark = pytest.mark.e2e

DATABASE = "cur_bulk_e2e"
START = date(2026, 10, 5)
DAYS = 3
LIVES = 400
SEED = 19
TABLES = ("appeals", "appeal_status_events", "rejected_events")


@pytest.fixture(scope="module")
def own(settings: Settings) -> Iterator[tuple[Settings, Client]]:
    with own_database(settings, DATABASE) as database:
        yield database


@pytest.fixture(scope="module")
def truth(settings: Settings) -> Truth:
    merged = Truth(settings.tz)
    for n in range(DAYS):
        merged = merged.merge(generate_day(START + timedelta(days=n), LIVES, SEED, settings.tz).truth)
    return merged


@pytest.fixture(scope="module")
def first_load(own: tuple[Settings, Client]) -> Summary:
    bulk_settings, _ = own
    return load_history(START, [LIVES] * DAYS, SEED, bulk_settings, until=None, workers=2)


def _fingerprints(client: Client) -> dict[str, tuple[int, int]]:
    """Per table: rows after FINAL, and a checksum of all their values."""
    prints = {}
    for table in TABLES:
        rows, checksum = client.execute(f"SELECT count(), sum(cityHash64(*)) FROM {table} FINAL")[0]
        prints[table] = (rows, checksum)
    return prints


def test_a_bulk_load_is_exactly_the_generators_truth(
    own: tuple[Settings, Client], truth: Truth, first_load: Summary
) -> None:
    _, client = own
    feeds = truth.feeds
    summary = first_load.as_dict()["feeds"]
    assert {f: summary[f]["appeals"] for f in FEEDS} == {f: len(feeds[f].appeals) for f in FEEDS}
    assert {f: summary[f]["status_events"] for f in FEEDS} == {f: len(feeds[f].status_events) for f in FEEDS}
    assert {f: summary[f]["rejected"] for f in FEEDS} == {f: feeds[f].rejected for f in FEEDS}
    assert first_load.days_done == DAYS and first_load.not_sent == 0

    landed = client.execute("SELECT toString(source), source_id FROM appeals FINAL")
    assert len(landed) == len(set(landed)), "an appeal landed twice"
    assert set(landed) == {(feed, source_id) for feed in FEEDS for source_id in feeds[feed].appeals}
    events = dict(client.execute("SELECT toString(source), count() FROM appeal_status_events FINAL GROUP BY source"))
    assert events == {feed: len(feeds[feed].status_events) for feed in FEEDS}
    rejected = dict(client.execute("SELECT feed, count() FROM rejected_events FINAL GROUP BY feed"))
    assert rejected == {feed: feeds[feed].rejected for feed in FEEDS}
    state = client.execute("SELECT toString(source), source_id, current_status FROM appeal_state")
    assert {(feed, source_id): status for feed, source_id, status in state} == {
        (feed, source_id): status for feed in FEEDS for source_id, status in feeds[feed].current_status().items()
    }


def test_every_row_names_its_topic_partition_and_offset(own: tuple[Settings, Client], first_load: Summary) -> None:
    _, client = own
    first, last = day_offset(START, 0), day_offset(START + timedelta(days=DAYS - 1), DAY_OFFSETS - 1)
    for table in TABLES:
        topics, partitions, lowest, highest, rows, distinct = client.execute(
            f"SELECT groupUniqArray(kafka_topic), groupUniqArray(kafka_partition), min(kafka_offset),"
            f" max(kafka_offset), count(), uniqExact(kafka_topic, kafka_offset) FROM {table} FINAL"
        )[0]
        assert set(topics) <= {f"bulk.raw.{feed}" for feed in FEEDS}, table
        assert partitions == [0], table
        assert first <= lowest <= highest <= last, table
        if table != "appeal_status_events":  # a snapshot record carries several status events
            assert distinct == rows, f"{table}: two rows claim one record"


def test_loading_the_same_days_again_changes_nothing_after_final(
    own: tuple[Settings, Client], first_load: Summary
) -> None:
    _, client = own
    before = _fingerprints(client)
    assert before["appeals"][0] == first_load.total("appeals")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.generator.bulk",
            *("--days", str(DAYS), "--appeals-per-day", str(LIVES), "--seed", str(SEED)),
            *("--start-day", START.isoformat(), "--until", "2030-01-01T00:00:00+00:00", "--workers", "2"),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "CLICKHOUSE_DATABASE": DATABASE, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[bulk] 3/3 days" in result.stderr
    again = json.loads(result.stdout)
    totals = first_load.as_dict()
    for name in ("appeals", "status_events", "rejected", "appeal_rows", "status_event_rows", "raw_records"):
        assert again[name] == totals[name], name
    assert _fingerprints(client) == before
    client.execute("OPTIMIZE TABLE appeals FINAL")
    assert client.execute("SELECT count() FROM appeals")[0][0] == before["appeals"][0]


def test_a_later_until_adds_what_was_sent_since_and_doubles_nothing(settings: Settings) -> None:
    """The command line's default `--until` is now: loading recent days again later must stay exact."""
    early = datetime.combine(START + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=12)
    later = early + timedelta(days=2)
    sent = [
        event
        for n in range(2)
        for event in generate_day(START + timedelta(days=n), LIVES, SEED, settings.tz, until=later).events
        if event.sent_at <= later
    ]
    expected = Truth.of(sent, settings.tz).feeds
    with own_database(settings, f"{DATABASE}_until") as (bulk_settings, client):
        load_history(START, [LIVES] * 2, SEED, bulk_settings, until=early, workers=1)
        before = _fingerprints(client)
        summary = load_history(START, [LIVES] * 2, SEED, bulk_settings, until=later, workers=1)
        after = _fingerprints(client)
        assert all(after[table][0] > before[table][0] for table in TABLES)
        assert after["appeals"][0] == summary.total("appeals") == sum(len(f.appeals) for f in expected.values())
        events = dict(
            client.execute("SELECT toString(source), count() FROM appeal_status_events FINAL GROUP BY source")
        )
        assert events == {feed: len(expected[feed].status_events) for feed in FEEDS}
        rejected = dict(client.execute("SELECT feed, count() FROM rejected_events FINAL GROUP BY feed"))
        assert rejected == {feed: expected[feed].rejected for feed in FEEDS}
