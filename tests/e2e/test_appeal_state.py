"""`cur.appeal_state`, kept incrementally (migration 0008), on the real ClickHouse.

The state is an AggregatingMergeTree fed by a materialized view on the status events. It must give what
aggregating every event with FINAL gives (the definition of 0004, plus the columns 0008 adds), whatever
is inserted twice, and show a return for rework and a reopen. Runs in a database of its own
(`cur_state_e2e`, dropped before and after).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from clickhouse_driver import Client

from cur.schema import STATUS_EVENT_COLUMNS, STATUSES, StatusEvent, appeal_id_for
from cur.settings import Settings
from streams.generator import generate_day
from streams.generator.bulk import load_history
from tests.e2e.conftest import own_database

pytestmark = pytest.mark.e2e

DATABASE = "cur_state_e2e"
DAY = date(2026, 10, 12)
LIVES = 400
SEED = 29
RANK = "indexOf([" + ", ".join(f"'{s}'" for s in STATUSES) + "], status)"
# Every column of the view, aggregated from all events with FINAL: 0004's definition and the same rules
# for the columns of 0008, written independently of the migration.
FULL_AGGREGATION = f"""
SELECT
    source, source_id,
    argMax(status, (event_at, {RANK})) AS current_status,
    minIfOrNull(event_at, is_response) AS first_response_at,
    minIfOrNull(event_at, status = 'assigned') AS first_assigned_at,
    minIfOrNull(event_at, status = 'resolved') AS first_resolved_at,
    maxIfOrNull(event_at, status = 'resolved') AS last_resolved_at,
    maxIfOrNull(event_at, status NOT IN ('resolved', 'rejected')) AS last_active_at,
    ifNull(last_active_at > first_resolved_at, false) AS reopened,
    countIf(status = 'returned') AS returned_count,
    argMaxIf(rating, event_at, rating IS NOT NULL) AS last_rating,
    maxIfOrNull(event_at, status = 'resolved' AND rating IS NOT NULL) AS last_confirmed_at,
    if(source = 'pos', current_status = 'resolved' AND ifNull(last_confirmed_at = last_resolved_at, false), NULL)
        AS confirmed,
    argMaxIf(executor, event_at, executor != '') AS executor,
    max(event_at) AS last_event_at,
    count() AS events,
    arraySort(groupArray((event_at, toString(status)))) AS history
FROM appeal_status_events FINAL
GROUP BY source, source_id
"""
COLUMNS = (
    "current_status, first_response_at, first_assigned_at, first_resolved_at, last_resolved_at, last_active_at,"
    " reopened, returned_count, last_rating, last_confirmed_at, confirmed, executor, last_event_at, events, history"
)


def rows(client: Client, query: str) -> set[tuple]:
    found = client.execute(f"SELECT toString(source), source_id, {COLUMNS} FROM ({query})")
    return {tuple(tuple(map(tuple, v)) if isinstance(v, list) else v for v in row) for row in found}


def state(client: Client) -> set[tuple]:
    return rows(client, "SELECT * FROM appeal_state")


@pytest.fixture(scope="module")
def own(settings: Settings) -> Iterator[tuple[Settings, Client]]:
    with own_database(settings, DATABASE) as database:
        yield database


@pytest.fixture(scope="module")
def generated_day(own: tuple[Settings, Client]) -> set[tuple]:
    """One generated day through the bulk path (replays, snapshot re-sends and late records included)."""
    own_settings, client = own
    load_history(DAY, [LIVES], SEED, own_settings, until=None, workers=1)
    return state(client)


def test_state_is_the_full_aggregation_of_the_events(own: tuple[Settings, Client], generated_day: set[tuple]) -> None:
    _, client = own
    assert generated_day == rows(client, FULL_AGGREGATION)
    truth = generate_day(DAY, LIVES, SEED, own[0].tz).truth
    expected = {(feed, sid): s for feed, t in truth.feeds.items() for sid, s in t.current_status().items()}
    assert {(row[0], row[1]): row[2] for row in generated_day} == expected
    executors = dict(client.execute("SELECT toString(source), countIf(executor != '') FROM appeal_state GROUP BY 1"))
    assert all(executors[feed] > 0 for feed in ("pos", "112", "safe_city")), executors


def test_inserting_the_same_events_again_changes_nothing(
    own: tuple[Settings, Client], generated_day: set[tuple]
) -> None:
    own_settings, client = own
    count = "SELECT (SELECT count() FROM appeal_status_events), (SELECT count() FROM appeal_state_agg)"
    (events_before, states_before), *_ = client.execute(count)
    load_history(DAY, [LIVES], SEED, own_settings, until=None, workers=1)  # the same day loaded again
    client.execute(
        "INSERT INTO appeal_status_events SELECT * FROM appeal_status_events", settings={"insert_deduplicate": 0}
    )  # every stored row a second time, past the block deduplication
    client.execute(
        "INSERT INTO appeal_status_events SELECT * REPLACE (ingested_at + INTERVAL 1 HOUR AS ingested_at)"
        " FROM appeal_status_events WHERE cityHash64(source_id) % 3 = 0"
    )  # replays of a third of them, stored later
    (events_after, states_after), *_ = client.execute(count)
    assert events_after > 2 * events_before and states_after > states_before  # the duplicates reached the state
    assert state(client) == generated_day
    client.execute("OPTIMIZE TABLE appeal_state_agg FINAL")
    assert state(client) == generated_day == rows(client, FULL_AGGREGATION)


def _event(source_id: str, status: str, at: datetime, **fields: object) -> StatusEvent:
    values: dict = {"is_response": False, "rating": None, "detail": "", "executor": "", **fields}
    return StatusEvent(
        appeal_id=appeal_id_for("pos", source_id),
        source="pos",
        source_id=source_id,
        status=status,
        event_at=at,
        ingested_at=at + timedelta(minutes=1),
        kafka_topic="raw.pos",
        kafka_partition=0,
        kafka_offset=0,
        **values,
    )


def test_a_return_for_rework_and_a_reopen_are_visible(own: tuple[Settings, Client]) -> None:
    _, client = own
    t0 = datetime(2026, 10, 20, 9, tzinfo=UTC)
    hours = [t0 + timedelta(hours=h) for h in range(12)]
    lives = [
        _event("9001", "received", hours[0]),
        _event("9001", "assigned", hours[1], executor="ООО «УК Центр»"),
        _event("9001", "answered", hours[2], is_response=True, executor="ООО «УК Центр»"),
        _event("9001", "returned", hours[3], rating=2),
        _event("9001", "in_progress", hours[4], executor="ООО «Уют»"),
        _event("9001", "answered", hours[5], is_response=True),
        _event("9001", "resolved", hours[6], rating=5),  # confirmed by the applicant
        _event("9002", "received", hours[0]),
        _event("9002", "assigned", hours[1], executor="Администрация МО «Калуга»"),
        _event("9002", "resolved", hours[2]),  # the portal's, the applicant silent
        _event("9002", "returned", hours[3], rating=1),  # reopened
        _event("9002", "in_progress", hours[4]),
    ]
    insert = f"INSERT INTO appeal_status_events ({', '.join(STATUS_EVENT_COLUMNS)}) VALUES"
    client.execute(insert, [e.as_row() for e in lives])
    client.execute(insert, [e.as_row() for e in lives[::2]])  # a retried batch
    found = {
        row[0]: row[1:]
        for row in client.execute(
            "SELECT source_id, current_status, returned_count, reopened, first_resolved_at, last_active_at,"
            " last_rating, confirmed, executor, events, history"
            " FROM appeal_state WHERE source = 'pos' AND source_id IN ('9001', '9002') ORDER BY source_id"
        )
    }
    history_1 = [(e.event_at, e.status) for e in lives[:7]]
    assert found["9001"] == ("resolved", 1, False, hours[6], hours[5], 5, True, "ООО «Уют»", 7, history_1)
    history_2 = [(e.event_at, e.status) for e in lives[7:]]
    assert found["9002"] == (
        "in_progress",
        1,
        True,
        hours[2],
        hours[4],
        1,
        False,
        "Администрация МО «Калуга»",
        5,
        history_2,
    )
