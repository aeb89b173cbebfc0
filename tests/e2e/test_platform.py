"""The platform end to end on the real services, on the hand-made known events.

Publish raw events of every feed → the Faust worker lands canonical appeals and rejections in
ClickHouse → the Airflow DAG deduplicates with Spark, builds the KPI mart with dbt and checks
quality with Great Expectations → Superset serves the dashboard from the mart. Every figure is
compared with the values worked out by hand in tests/fixtures/known_events.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest
import requests
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from clickhouse_driver import Client

from cur.migrate import migrate
from cur.settings import Settings
from tests.e2e.conftest import reset_topics, run_infra, wait_for
from tests.fixtures import known_events as k

pytestmark = pytest.mark.e2e


async def _publish(settings: Settings, events: list[tuple[str, bytes, bytes]]) -> list[int]:
    """Returns the offset each event got."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        return [
            (await producer.send_and_wait(settings.raw_topics[feed], key=key, value=value, headers=k.HEADERS)).offset
            for feed, key, value in events
        ]
    finally:
        await producer.stop()


async def _read_dead_letters(settings: Settings, expected: int) -> list[dict]:
    consumer = AIOKafkaConsumer(
        settings.dead_letter_topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    records: list[dict] = []
    try:
        deadline = time.monotonic() + 30
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            records += [json.loads(m.value) for msgs in batch.values() for m in msgs]
    finally:
        await consumer.stop()
    return records


@pytest.fixture(scope="module")
def landed(settings: Settings, clickhouse: Client) -> Settings:
    """Fresh tables and topics, a worker with a new consumer group, and the known events landed."""
    migrate(settings)
    db = settings.clickhouse_database
    for table in (
        "appeals",
        "appeals_dedup",
        "rejected_events",
        "rejected_replays",
        "appeal_status_events",
        "appeal_state_agg",  # kept from the events by a materialized view: a TRUNCATE of them does not reach it
        "stream_batches",
        "feed_control_totals",
        "record_outcomes",
        "reconciliation",
    ):
        clickhouse.execute(f"TRUNCATE TABLE {db}.{table}")
    reset_topics(settings)
    app_id = f"cur-streams-e2e-{int(time.time())}"
    run_infra("infra/services/streams.sh", "start", env={"CUR_STREAMS_APP_ID": app_id})
    try:
        asyncio.run(_publish(settings, k.EVENTS))
        total = sum(k.EXPECTED_APPEALS.values())
        wait_for(
            lambda: (
                clickhouse.execute(f"SELECT count() FROM {db}.appeals FINAL")[0][0] == total
                and clickhouse.execute(f"SELECT count() FROM {db}.rejected_events")[0][0] == len(k.EXPECTED_REJECTED)
            ),
            timeout=90,
            what="the known events to land in ClickHouse",
        )
        # The replay is sent after the original landed, so it reaches ClickHouse as a second row
        # (until a merge keeps one of the two: with equal versions, the later insert).
        [replay_offset] = asyncio.run(_publish(settings, k.REPLAYS))
        replay_landed = (
            f"SELECT count() FROM {db}.appeals WHERE source = 'pos' AND source_id = '5001' AND kafka_offset = %(o)s"
        )
        wait_for(
            lambda: clickhouse.execute(replay_landed, {"o": replay_offset})[0][0] == 1,
            timeout=60,
            what="the replayed event to land",
        )
        asyncio.run(_publish(settings, k.CONTROLS))  # each feed closes the day's export
        wait_for(
            lambda: clickhouse.execute(f"SELECT count() FROM {db}.feed_control_totals")[0][0] == len(k.CONTROLS),
            timeout=60,
            what="the control totals to land",
        )
        yield settings
    finally:
        run_infra("infra/services/streams.sh", "stop")


def test_canonical_appeals_landed_exactly(landed: Settings, clickhouse: Client) -> None:
    db = landed.clickhouse_database
    counts = dict(clickhouse.execute(f"SELECT toString(source), count() FROM {db}.appeals FINAL GROUP BY source"))
    assert counts == k.EXPECTED_APPEALS
    distinct = clickhouse.execute(f"SELECT uniqExact(source, source_id) FROM {db}.appeals")[0][0]
    assert distinct == sum(k.EXPECTED_APPEALS.values())


def test_field_values_of_known_appeals(landed: Settings, clickhouse: Client) -> None:
    db = landed.clickhouse_database
    row = clickhouse.execute(
        f"SELECT toString(source), sector, subcategory, municipality_code, created_at, sla_deadline_at,"
        f" first_response_at, toString(priority), status, address, lat, lon, kafka_topic"
        f" FROM {db}.appeals FINAL WHERE source = 'pos' AND source_id = '5001'"
    )
    utc = UTC
    assert row == [
        (
            "pos",
            "roads",
            "roads.pothole",
            k.KALUGA,
            datetime(2026, 11, 20, 6, 0, tzinfo=utc),
            datetime(2026, 11, 20, 14, 0, tzinfo=utc),
            datetime(2026, 11, 20, 9, 30, tzinfo=utc),
            "normal",
            "answered",
            "Калуга, ул. Ленина, д. 10",
            54.5138,
            36.2612,
            "raw.pos",
        )
    ]
    card = clickhouse.execute(
        f"SELECT created_at, sla_deadline_at, first_response_at, toString(priority), status, municipality_code"
        f" FROM {db}.appeals FINAL WHERE source = '112' AND source_id = '112-A-1'"
    )
    assert card == [
        (
            datetime(2026, 11, 20, 5, 5, tzinfo=utc),
            datetime(2026, 11, 20, 6, 5, tzinfo=utc),
            datetime(2026, 11, 20, 5, 15, tzinfo=utc),
            "emergency",
            "resolved",
            k.KALUGA,
        )
    ]
    housing = clickhouse.execute(f"SELECT created_at FROM {db}.appeals FINAL WHERE source_id = 'ГЖИ-2'")
    assert housing == [(datetime(2026, 11, 19, 20, 59, tzinfo=utc),)]


def test_status_history_and_current_state(landed: Settings, clickhouse: Client) -> None:
    db = landed.clickhouse_database
    counts = dict(
        clickhouse.execute(f"SELECT toString(source), count() FROM {db}.appeal_status_events FINAL GROUP BY source")
    )
    assert counts == k.EXPECTED_STATUS_EVENTS
    state = {
        (source, source_id): status
        for source, source_id, status in clickhouse.execute(
            f"SELECT toString(source), source_id, current_status FROM {db}.appeal_state"
        )
    }
    assert {key: state[key] for key in k.EXPECTED_STATE} == k.EXPECTED_STATE
    first = clickhouse.execute(f"SELECT first_response_at FROM {db}.appeal_state WHERE source_id = '112-A-1'")
    assert first == [(datetime(2026, 11, 20, 5, 15, tzinfo=UTC),)]


def test_stream_metrics_count_every_record(landed: Settings, clickhouse: Client) -> None:
    records = len(k.EVENTS) + len(k.REPLAYS) + len(k.CONTROLS)  # each feed's control total too
    db = landed.clickhouse_database
    metrics = f"SELECT sum(events_in), sum(rejected), sum(unmapped_codes) FROM {db}.stream_batches"
    # A batch's metrics row is written after its rows are stored, so the last batch's may still be on its way.
    wait_for(lambda: clickhouse.execute(metrics)[0][0] >= records, timeout=30, what="the last batch's metrics row")
    events_in, rejected, unmapped = clickhouse.execute(metrics)[0]
    assert events_in == records
    assert (rejected, unmapped) == (len(k.EXPECTED_REJECTED), 1)  # the POS category 9999
    # The worker's own page shows the same per feed (its web view; the worker is still running).
    page = requests.get(f"http://127.0.0.1:{landed.streams_web_port}/metrics/", timeout=10).json()
    pos = page["feeds"]["pos"]
    assert (pos["events_in"], pos["appeals_out"], pos["rejected"], pos["unmapped_codes"]) == (6, 4, 1, 1)
    assert sum(feed["events_in"] for feed in page["feeds"].values()) == records


def test_rejected_records_kept_with_reason(landed: Settings, clickhouse: Client) -> None:
    rows = clickhouse.execute(f"SELECT feed, reason, raw_payload FROM {landed.clickhouse_database}.rejected_events")
    by_feed = {feed: (reason, raw) for feed, reason, raw in rows}
    assert set(by_feed) == set(k.EXPECTED_REJECTED)
    for feed, fragment in k.EXPECTED_REJECTED.items():
        assert fragment in by_feed[feed][0]
    assert '"categoryId": 9999' in by_feed["pos"][1]
    dead_letters = asyncio.run(_read_dead_letters(landed, len(k.EXPECTED_REJECTED)))
    assert sorted(d["feed"] for d in dead_letters) == sorted(k.EXPECTED_REJECTED)
    assert all(d["reason"] and d["raw_payload"] is not None for d in dead_letters)


def test_replay_of_rejected_records(landed: Settings, clickhouse: Client) -> None:
    """The malformed 112 card goes back to raw.112 byte for byte; still malformed, it is rejected anew."""
    from streams.replay_rejected import main as replay_rejected

    db = landed.clickhouse_database
    [(offset, payload)] = clickhouse.execute(
        f"SELECT kafka_offset, raw_payload FROM {db}.rejected_open WHERE feed = '112'"
    )
    assert replay_rejected(["--feed", "112", "--replay", "--note", "e2e replay"]) == 0
    [(origin, replay_offset, note)] = clickhouse.execute(
        f"SELECT kafka_offset, replay_offset, operator_note FROM {db}.rejected_replays"
    )
    assert (origin, note) == (offset, "e2e replay")
    wait_for(
        lambda: clickhouse.execute(f"SELECT count() FROM {db}.rejected_events WHERE feed = '112'")[0][0] == 2,
        timeout=60,
        what="the replayed card to be normalized again",
    )
    again = clickhouse.execute(
        f"SELECT kafka_offset, raw_payload, kafka_key FROM {db}.rejected_open WHERE feed = '112'"
    )
    assert again == [(replay_offset, payload, "112-A-3")]
    assert replay_rejected(["--feed", "112"]) == 0  # the dry run still works with one open record


@pytest.fixture(scope="module")
def dag_run(landed: Settings) -> Settings:
    from infra.airflow_runs import run_dag_for_day

    run_dag_for_day(k.DAY)
    return landed


def mart_rows(settings: Settings, clickhouse: Client) -> dict:
    rows = clickhouse.execute(
        f"SELECT sector, municipality_code, sum(appeals_received), sum(first_answer_met), sum(first_answer_missed),"
        f" sum(first_answer_due), sum(resolution_met), sum(resolution_missed), sum(resolution_due)"
        f" FROM {settings.analytics_database}.kpi_daily WHERE report_date = %(day)s GROUP BY 1, 2",
        {"day": k.DAY},
    )
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def test_dag_reconciles_every_feed_of_the_day(dag_run: Settings, clickhouse: Client) -> None:
    """The DAG's reconciliation stored the day's counts per stage: sent = landed + rejected + filtered."""
    rows = clickhouse.execute(
        f"SELECT feed, sent, landed, rejected, filtered, ok FROM {dag_run.clickhouse_database}.reconciliation"
        " WHERE export_day = %(day)s AND run_id != ''",
        {"day": k.DAY},
    )
    assert {feed: tuple(counts) for feed, *counts in rows} == {
        feed: (*counts, True) for feed, counts in k.EXPECTED_RECONCILIATION.items()
    }


def test_the_scheduler_ran_the_day_and_its_steps_published_their_assets(dag_run: Settings) -> None:
    """A backfill run (not `dags test`) that succeeded, and one asset event per step with the day in `extra`,
    in the order canonical appeals -> problems -> KPI marts -> published."""
    from dags.assets import STEPS
    from infra.airflow_runs import DAG_ID, AirflowApi, logical_date_for_day

    api = AirflowApi(dag_run)
    at = logical_date_for_day(k.DAY, dag_run).isoformat()
    [run] = api.call("GET", f"/dags/{DAG_ID}/dagRuns", params={"logical_date_gte": at, "logical_date_lte": at})[
        "dag_runs"
    ]
    assert (run["run_type"], run["state"]) == ("backfill", "success")
    events = api.call("GET", "/assets/events", params={"source_run_id": run["dag_run_id"], "limit": 100})
    published = sorted(events["asset_events"], key=lambda e: e["timestamp"])
    # One task publishes both canonical appeals and problems, in no fixed order: compare steps, not events.
    steps: dict[str, set[str]] = {}
    for e in published:  # a later run of the day may add more
        steps.setdefault(e["source_task_id"], set()).add(e["uri"])
    assert list(steps.values()) == [{a.uri for a in step} for step in STEPS]
    assert all(e["extra"]["day"] == k.DAY.isoformat() for e in published)


def test_kpi_trace_of_a_mart_row_returns_exactly_the_appeals_it_counts(dag_run: Settings, clickhouse: Client) -> None:
    """python -m cur.trace, with the formulas from dbt's manifest: for every kpi_daily row of the day and every
    traced measure the listed appeals add up to the figure; the missed first answers are, by hand, POS_2
    (answered late), POS_3 (unanswered past 17:00) and CARD_2 (unanswered past 00:30 of the 21st)."""
    from cur.trace import load_manifest, trace

    manifest = load_manifest()
    dimensions = ("report_date", "sector", "subcategory", "municipality_code", "ministry_code", "executor", "source")
    rows = clickhouse.execute(
        f"SELECT {', '.join(dimensions)} FROM {dag_run.analytics_database}.kpi_daily WHERE report_date = %(d)s",
        {"d": k.DAY},
    )
    assert rows
    missed: set[tuple[str, str]] = set()
    for row in rows:
        where = {name: str(value) for name, value in zip(dimensions, row, strict=True)}
        for kpi in ("appeals_received", "first_answer_missed", "first_answer_due", "problems_new"):
            found = trace(dag_run, manifest, "kpi_daily", kpi, where)
            assert found.agrees and found.figure == len(found.rows), (kpi, where, found.figure, len(found.rows))
            if kpi == "first_answer_missed":
                missed |= {(str(r[1]), r[2]) for r in found.rows}
            assert all(r[3] == dag_run.raw_topics[str(r[1])] and r[5] >= 0 for r in found.rows)  # with its offset
    assert missed == {("pos", "5002"), ("pos", "5003"), ("112", "112-A-2")}


def test_dag_deduplicates_the_interval(dag_run: Settings, clickhouse: Client) -> None:
    db = dag_run.clickhouse_database
    total, distinct = clickhouse.execute(f"SELECT count(), uniqExact(source, source_id) FROM {db}.appeals_dedup")[0]
    assert (total, distinct) == (k.EXPECTED_IN_INTERVAL, k.EXPECTED_IN_INTERVAL)


def test_mart_equals_hand_computed_figures(dag_run: Settings, clickhouse: Client) -> None:
    expected = dict(k.EXPECTED_MART)
    if datetime.now(UTC) > datetime.fromisoformat(k.HOUSING_1_FIX_DUE_UTC):  # HOUSING_1's fix deadline passed
        expected[("housing_utilities", k.KALUGA)] = (1, 1, 0, 1, 0, 1, 1)
    assert mart_rows(dag_run, clickhouse) == expected
    names = clickhouse.execute(
        f"SELECT DISTINCT sector_name_ru, municipality_name_ru FROM {dag_run.analytics_database}.kpi_daily"
        f" WHERE sector = 'roads' AND municipality_code = %(m)s",
        {"m": k.KALUGA},
    )
    assert names == [("Дороги", "Калуга")]


def test_quality_checkpoint_passes_on_good_data_and_fails_on_a_planted_bad_row(
    dag_run: Settings, clickhouse: Client
) -> None:
    from expectations.run_checkpoint import run as run_checkpoint

    start, end = datetime.fromisoformat(k.INTERVAL_START), datetime.fromisoformat(k.INTERVAL_END)
    assert run_checkpoint(dag_run, start, end).success
    db = dag_run.clickhouse_database
    clickhouse.execute(
        # The filter sits in a subquery: in the outer query, WHERE would see REPLACE's aliases.
        f"INSERT INTO {db}.appeals_dedup SELECT * REPLACE ('planted-bad' AS source_id, 'no_such_sector' AS sector)"
        f" FROM (SELECT * FROM {db}.appeals_dedup WHERE source_id = '5001')"
    )
    try:
        assert not run_checkpoint(dag_run, start, end).success
    finally:
        clickhouse.execute(f"DELETE FROM {db}.appeals_dedup WHERE source_id = 'planted-bad'")
    assert run_checkpoint(dag_run, start, end).success


def test_a_warning_does_not_block_and_a_critical_failure_leaves_the_marts_unchanged(
    dag_run: Settings, clickhouse: Client
) -> None:
    """Under the scheduler: the day's run recorded a warning (the production calendar ends in 2027) and was
    published; with a critical defect planted (a rating of 9 stars), the next run of the day stops at
    quality_gate (at once: a gated task is not retried), dbt_build never runs, and every table of the
    marts keeps its rows."""
    from infra.airflow_runs import run_days

    db, marts = dag_run.clickhouse_database, dag_run.analytics_database
    start = datetime.fromisoformat(k.INTERVAL_START)
    outcomes = clickhouse.execute(
        f"SELECT run_id, countIf(NOT success AND severity = 'warning'), countIf(NOT success AND severity = 'critical')"
        f" FROM {db}.dq_results FINAL WHERE interval_start = %(start)s AND layer != 'marts' GROUP BY run_id",
        {"start": start},
    )
    assert any(warnings > 0 and critical == 0 for _, warnings, critical in outcomes), outcomes
    tables = [
        name
        for (name,) in clickhouse.execute(
            "SELECT name FROM system.tables WHERE database = %(db)s AND engine LIKE '%%MergeTree'", {"db": marts}
        )
    ]

    def snapshot() -> dict[str, tuple]:
        rows = "SELECT count(), sum(cityHash64(toString(tuple(*))))"  # every column, NULLs included
        return {t: clickhouse.execute(f"{rows} FROM {marts}.{t}")[0] for t in tables}

    before = snapshot()
    # A newer copy of one status event of the day (same key, later ingested_at): FINAL reads the bad rating.
    clickhouse.execute(
        f"INSERT INTO {db}.appeal_status_events SELECT * REPLACE (toNullable(toUInt8(9)) AS rating,"
        f" now64(3) AS ingested_at) FROM (SELECT * FROM {db}.appeal_status_events FINAL"
        f" WHERE event_at >= %(start)s AND event_at < %(end)s LIMIT 1)",
        {"start": start, "end": datetime.fromisoformat(k.INTERVAL_END)},
    )
    try:
        [state] = [s for s in run_days([k.DAY]) if s.day == k.DAY]
    finally:
        clickhouse.execute(f"DELETE FROM {db}.appeal_status_events WHERE rating = 9")
    assert (state.state, state.task) == ("failed", "quality_gate")
    assert snapshot() == before
    # The rerun kept the Airflow run id of the day; its results are stored per try, next to the first
    # run's (which had no critical failure), not in their place.
    tries = clickhouse.execute(
        f"SELECT run_id, countIf(severity = 'critical' AND NOT success) FROM {db}.dq_results FINAL"
        f" WHERE startsWith(run_id, %(run)s) AND layer != 'marts' GROUP BY run_id ORDER BY max(run_at)",
        {"run": f"{state.run_id}@try-"},
    )
    assert len(tries) >= 2 and tries[0][1] == 0 and tries[-1][1] > 0, tries
    critical = clickhouse.execute(
        f"SELECT suite, column_name FROM {db}.dq_results FINAL"
        f" WHERE run_id = %(run)s AND severity = 'critical' AND NOT success",
        {"run": tries[-1][0]},
    )
    assert critical == [("raw_status_events", "rating")]
    latest = clickhouse.execute(
        f"SELECT DISTINCT run_id FROM {db}.bi_dq_latest WHERE suite = 'raw_status_events'"
        " AND column_name = 'rating' AND severity = 'critical'"
    )
    assert latest == [(tries[-1][0],)]  # the dashboard's latest result of the check is the rerun's failure


def test_superset_dashboard_and_chart_data(dag_run: Settings) -> None:
    from tests.e2e.superset_helpers import check_dashboard

    charts = check_dashboard(f"http://127.0.0.1:{dag_run.superset_port}", "admin", dag_run.superset_admin_password)
    assert len(charts) >= 4
    assert all(rows is not None for rows in charts.values())
