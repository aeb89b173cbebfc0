"""The data-quality gate on the real ClickHouse: each critical expectation fails on a planted defect of
its kind and passes on clean data, and every result lands in cur.dq_results.

A scratch database (`cur_dqtest`, with `cur_dqtest_analytics` for the marts) holds a generated month
(the bulk loader: the stream workers' own normalizers), its canonical table, one problem per appeal
and a KPI table of the contract's columns computed from it, so the test needs neither Spark nor dbt.
Each defect is planted, the layer it belongs to is validated, and the defect is removed again.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from clickhouse_driver import Client

from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import REPO_ROOT, Settings
from expectations import suite as suites
from expectations.context import data_docs_dir
from expectations.run_checkpoint import CheckResult, run

pytestmark = pytest.mark.e2e

DB, ANALYTICS = "cur_dqtest", "cur_dqtest_analytics"
DAYS, LIVES_PER_DAY = 29, 120  # four weeks of history before the checked day: weekday volume bands


@dataclasses.dataclass(frozen=True)
class Scratch:
    settings: Settings
    client: Client
    start: datetime
    end: datetime
    now: datetime

    def gate(self, *layers: str, run_id: str | None = None, data_docs: bool = False) -> CheckResult:
        layers = layers or suites.LAYERS
        return run(self.settings, self.start, self.end, layers, run_id=run_id, now=self.now, data_docs=data_docs)

    def sql(self, *statements: str) -> None:
        """Run statements; `{start}`, `{end}` are the checked interval's bounds, `{db}`, `{tz}` as in migrations."""
        names = {"db": DB, "tz": self.settings.region_tz}
        for key, moment in (("start", self.start), ("end", self.end)):
            names[key] = f"toDateTime64('{moment:%Y-%m-%d %H:%M:%S}', 3, 'UTC')"
        for statement in statements:
            self.client.execute(statement.format(**names))


def _kpi_daily(s: Scratch) -> None:
    """The contract's additive columns of analytics.kpi_daily, one row per day × sector, from the canonical table."""
    tz = s.settings.region_tz
    s.sql(
        f"DROP TABLE IF EXISTS {ANALYTICS}.kpi_daily",
        f"CREATE TABLE {ANALYTICS}.kpi_daily ENGINE = MergeTree ORDER BY (report_date, sector) AS"
        f" SELECT toDate(created_at, '{tz}') AS report_date, sector, toUInt64(count()) AS appeals_received,"
        " toUInt64(countIf(first_response_at <= sla_deadline_at)) AS first_answer_met,"
        " toUInt64(count()) AS first_answer_due, toUInt64(countIf(status = 'resolved')) AS resolution_met,"
        " toUInt64(countIf(resolve_by IS NOT NULL OR status = 'resolved')) AS resolution_due,"
        " toUInt64(0) AS repeat_appeals, toUInt64(countIf(status = 'resolved')) AS confirmed_appeals"
        f" FROM {DB}.appeals_dedup FINAL GROUP BY report_date, sector",
    )


@pytest.fixture(scope="module")
def scratch(settings: Settings) -> Iterator[Scratch]:
    from streams.generator.bulk import load_history

    s = dataclasses.replace(settings, clickhouse_database=DB, analytics_database=ANALYTICS)
    client = native_client(s)
    for db in (DB, ANALYTICS):
        client.execute(f"DROP DATABASE IF EXISTS {db} SYNC")
    migrate(s)
    tz = s.tz
    last_day = datetime.now(tz).date() - timedelta(days=2)
    first_day = last_day - timedelta(days=DAYS - 1)
    end = datetime.combine(last_day + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC)
    load_history(first_day, [LIVES_PER_DAY] * DAYS, 31, s, until=end, workers=1)
    client.execute(f"INSERT INTO {DB}.appeals_dedup SELECT * FROM {DB}.appeals FINAL")
    client.execute(
        f"INSERT INTO {DB}.problem_links (appeal_id, source, source_id, created_at, problem_id, is_repeat, sector,"
        " subcategory, municipality_code, lat, lon, h3_cell, street_key, run_id, computed_at)"
        " SELECT appeal_id, source, source_id, created_at, appeal_id, false, sector, subcategory, municipality_code,"
        f" lat, lon, '', '', 'scratch', now64(3) FROM {DB}.appeals_dedup FINAL"
    )
    scratch = Scratch(s, client, end - timedelta(days=1), end, datetime.now(UTC))
    _kpi_daily(scratch)
    try:
        yield scratch
    finally:
        for db in (DB, ANALYTICS):
            client.execute(f"DROP DATABASE IF EXISTS {db} SYNC")
        client.disconnect()


def _failed(result: CheckResult) -> set[tuple[str, str, str | None, str]]:
    return {(f.suite, f.expectation, f.column, f.severity) for f in result.failures}


def test_clean_data_passes_every_critical_expectation_and_results_land(scratch: Scratch) -> None:
    result = scratch.gate(run_id="dqtest-clean", data_docs=True)
    assert not result.errors, result.summary()
    assert not result.critical, result.summary()
    assert result.success
    evaluated = sum(o.evaluated for o in result.outcomes)
    assert {o.suite for o in result.outcomes} == set(suites.SUITE_NAMES)
    # The calendar ends in 2027: a warning today (the reference suite), never a block.
    assert ("reference_data", "expect_column_values_to_be_between", "days_ahead", "warning") in _failed(result)

    rows = scratch.client.execute(
        f"SELECT count(), countIf(NOT success), countIf(interval_start = %(start)s AND interval_end = %(end)s),"
        f" uniqExact(suite) FROM {DB}.dq_results FINAL WHERE run_id = 'dqtest-clean'",
        {"start": scratch.start, "end": scratch.end},
    )[0]
    assert rows == (evaluated, len(result.failures), evaluated, len(suites.SUITE_NAMES))
    # The same run id written again replaces its rows; the latest view has one row per expectation.
    scratch.gate("reference", run_id="dqtest-clean")
    assert scratch.client.execute(f"SELECT count() FROM {DB}.dq_results FINAL WHERE run_id = 'dqtest-clean'")[0][0] == (
        evaluated
    )
    latest = scratch.client.execute(f"SELECT count(), uniqExact(suite, expectation_id) FROM {DB}.bi_dq_latest")[0]
    assert latest[0] == latest[1] == evaluated
    # The Data Docs show this run: a validation page per suite under the run's name.
    pages = list(data_docs_dir(scratch.settings).glob("validations/*/dqtest-clean/**/*.html"))
    assert {p.relative_to(data_docs_dir(scratch.settings)).parts[1] for p in pages} == set(suites.SUITE_NAMES)


def _copy(table: str, replace: str, where: str) -> str:
    """A copy of one row of `table` matching `where`, with the REPLACE expressions applied."""
    return (
        f"INSERT INTO {DB}.{table} SELECT * REPLACE ({replace}) FROM (SELECT * FROM {DB}.{table} WHERE {where} LIMIT 1)"
    )


IN_DAY = "created_at >= {start} AND created_at < {end}"
POS_ROW = "source = 'pos' AND ingested_at >= {start} AND ingested_at < {end}"
# Bulk offsets are YYYYMMDD·10⁹ + n with n far below 5·10⁸: this one is no other record's.
NEW_OFFSET = "kafka_offset + 500000000 AS kafka_offset"
DATED_2031 = f"'planted-2031' AS source_id, addYears(created_at, 5) AS created_at, {NEW_OFFSET}"
DATED_2019 = f"'planted-2019' AS source_id, toDateTime64('2019-06-01 10:00:00', 3, 'UTC') AS created_at, {NEW_OFFSET}"
UNDO_APPEALS = f"DELETE FROM {DB}.appeals WHERE source_id LIKE 'planted-%'"
# A planted canonical row: a copy of an appeal of the day with a far higher `version`, so FINAL reads it.
NEWER = "version + 1000000000000000 AS version"
UNDO_NEWER = f"DELETE FROM {DB}.appeals_dedup WHERE version > 1000000000000000"

# (id, layer, plant, undo, the expectation that must fail: suite, type, column)
DEFECTS = [
    (
        "raw-appeal-dated-2031",
        "raw",
        [_copy("appeals", DATED_2031, POS_ROW)],
        [UNDO_APPEALS],
        ("raw_pos", "expect_column_values_to_be_between", "minutes_after_landing"),
    ),
    (
        "raw-appeal-before-the-feed",
        "raw",
        [_copy("appeals", DATED_2019, POS_ROW)],
        [UNDO_APPEALS],
        ("raw_pos", "expect_column_values_to_be_between", "created_yyyymmdd"),
    ),
    (
        "raw-unknown-sector",
        "raw",
        [_copy("appeals", f"'planted-sector' AS source_id, 'aliens' AS sector, {NEW_OFFSET}", POS_ROW)],
        [UNDO_APPEALS],
        ("raw_pos", "expect_column_values_to_be_in_set", "sector"),
    ),
    (
        "raw-empty-source-id",
        "raw",
        [_copy("appeals", f"'' AS source_id, {NEW_OFFSET}", POS_ROW)],
        [f"DELETE FROM {DB}.appeals WHERE source_id = ''"],
        ("raw_pos", "expect_column_values_to_not_be_in_set", "source_id"),
    ),
    (
        "raw-two-appeals-from-one-record",
        "raw",
        [_copy("appeals", "'planted-offset' AS source_id", POS_ROW)],
        [UNDO_APPEALS],
        ("raw_pos", "expect_compound_columns_to_be_unique", "kafka_topic, kafka_partition, kafka_offset"),
    ),
    (
        "raw-status-unknown",
        "raw",
        [
            _copy(
                "appeal_status_events",
                "'planted-status' AS source_id, 'teleported' AS status",
                "source = 'pos' AND " + IN_DAY.replace("created_at", "event_at"),
            )
        ],
        [f"DELETE FROM {DB}.appeal_status_events WHERE source_id LIKE 'planted-%'"],
        ("raw_status_events", "expect_column_values_to_be_in_set", "status"),
    ),
    (
        "raw-rating-out-of-range",
        "raw",
        [
            _copy(
                "appeal_status_events",
                "'planted-rating' AS source_id, toNullable(toUInt8(9)) AS rating",
                "source = 'pos' AND " + IN_DAY.replace("created_at", "event_at"),
            )
        ],
        [f"DELETE FROM {DB}.appeal_status_events WHERE source_id LIKE 'planted-%'"],
        ("raw_status_events", "expect_column_values_to_be_between", "rating"),
    ),
    (
        "raw-silent-feed",
        "raw",
        [
            f"CREATE TABLE {DB}.pos_day AS {DB}.appeals",
            f"INSERT INTO {DB}.pos_day SELECT * FROM {DB}.appeals WHERE source = 'pos' AND " + IN_DAY,
            f"DELETE FROM {DB}.appeals WHERE source = 'pos' AND " + IN_DAY,
        ],
        [f"INSERT INTO {DB}.appeals SELECT * FROM {DB}.pos_day", f"DROP TABLE {DB}.pos_day"],
        ("raw_volumes", "expect_column_pair_values_a_to_be_greater_than_b", "received, silent_floor"),
    ),
    (
        "canonical-duplicate-source-id",
        "canonical",
        [_copy("appeals_dedup", "generateUUIDv4() AS appeal_id", IN_DAY)],
        [f"DELETE FROM {DB}.appeals_dedup WHERE appeal_id NOT IN (SELECT appeal_id FROM {DB}.appeals)"],
        ("canonical_appeals", "expect_column_values_to_be_between", "copies"),
    ),
    (
        "canonical-subcategory-of-another-sector",
        "canonical",
        [
            _copy(
                "appeals_dedup",
                f"'roads' AS sector, 'healthcare.ambulance' AS subcategory, {NEWER}",
                IN_DAY + " AND sector != 'roads'",
            )
        ],
        [UNDO_NEWER],
        ("canonical_appeals", "expect_column_pair_values_to_be_in_set", "sector, subcategory"),
    ),
    (
        "canonical-deadline-not-the-rules",
        "canonical",
        [_copy("appeals_dedup", f"sla_deadline_at + INTERVAL 2 HOUR AS sla_deadline_at, {NEWER}", IN_DAY)],
        [UNDO_NEWER],
        ("canonical_appeals", "expect_column_values_to_be_in_set", "sla_matches_rules"),
    ),
    (
        "canonical-deadline-before-the-appeal",
        "canonical",
        [_copy("appeals_dedup", f"created_at - INTERVAL 1 HOUR AS sla_deadline_at, {NEWER}", IN_DAY)],
        [UNDO_NEWER],
        ("canonical_appeals", "expect_column_pair_values_a_to_be_greater_than_b", "sla_deadline_at, created_at"),
    ),
    (
        "canonical-point-outside-the-region",
        "canonical",
        [
            _copy(
                "appeals_dedup",
                f"toNullable(59.94) AS lat, toNullable(30.31) AS lon, {NEWER}",
                IN_DAY + " AND lat IS NOT NULL",
            )
        ],
        [UNDO_NEWER],
        ("canonical_appeals", "expect_column_values_to_be_between", "lat"),
    ),
    (
        "canonical-answer-before-the-appeal",
        "canonical",
        [_copy("appeals_dedup", f"toNullable(created_at - INTERVAL 1 DAY) AS first_response_at, {NEWER}", IN_DAY)],
        [UNDO_NEWER],
        ("canonical_appeals", "expect_column_pair_values_a_to_be_greater_than_b", "first_response_at, created_at"),
    ),
    (
        "problems-appeal-not-linked",
        "problems",
        [
            f"CREATE TABLE {DB}.links_backup AS {DB}.problem_links",
            f"INSERT INTO {DB}.links_backup SELECT * FROM {DB}.problem_links WHERE appeal_id = (SELECT min(appeal_id)"
            f" FROM {DB}.problem_links WHERE " + IN_DAY + ")",
            f"DELETE FROM {DB}.problem_links WHERE appeal_id IN (SELECT appeal_id FROM {DB}.links_backup)",
        ],
        [f"INSERT INTO {DB}.problem_links SELECT * FROM {DB}.links_backup", f"DROP TABLE {DB}.links_backup"],
        ("problems", "expect_column_values_to_not_be_null", "problem_id"),
    ),
    (
        "problems-cluster-of-two-sectors",
        "problems",
        # An appeal of another sector joins the problem of one of the day's roads appeals.
        [
            _copy(
                "problem_links",
                "(SELECT min(problem_id) FROM {db}.problem_links WHERE sector = 'roads' AND "
                + IN_DAY
                + ") AS problem_id, 'planted' AS run_id, generateUUIDv4() AS appeal_id,"
                " 'planted-sector' AS source_id",
                IN_DAY + " AND sector = 'healthcare'",
            )
        ],
        [f"DELETE FROM {DB}.problem_links WHERE run_id = 'planted'"],
        ("problems", "expect_column_values_to_be_between", "problem_sectors"),
    ),
    (
        "problems-cluster-too-wide",
        "problems",
        # A report 50 km away joins a problem of the day.
        [
            _copy(
                "problem_links",
                "(SELECT min(problem_id) FROM {db}.problem_links WHERE lat IS NOT NULL AND "
                + IN_DAY
                + ") AS problem_id, 'planted' AS run_id, generateUUIDv4() AS appeal_id,"
                " 'planted-far' AS source_id, lat + 0.45 AS lat",
                IN_DAY + " AND lat IS NOT NULL"
                " AND appeal_id = (SELECT min(problem_id) FROM {db}.problem_links"
                " WHERE lat IS NOT NULL AND " + IN_DAY + ")",
            )
        ],
        [f"DELETE FROM {DB}.problem_links WHERE run_id = 'planted'"],
        ("problems", "expect_column_values_to_be_between", "problem_extent_m"),
    ),
    (
        "problems-cluster-too-long",
        "problems",
        # A report 20 days earlier joins a problem of the day, at the same place.
        [
            _copy(
                "problem_links",
                "(SELECT min(problem_id) FROM {db}.problem_links WHERE " + IN_DAY + ") AS problem_id,"
                " 'planted' AS run_id, generateUUIDv4() AS appeal_id, 'planted-old' AS source_id,"
                " created_at - INTERVAL 20 DAY AS created_at",
                "appeal_id = (SELECT min(problem_id) FROM {db}.problem_links WHERE " + IN_DAY + ")",
            )
        ],
        [f"DELETE FROM {DB}.problem_links WHERE run_id = 'planted'"],
        ("problems", "expect_column_values_to_be_between", "problem_span_days"),
    ),
    (
        "problems-appeal-in-two-problems",
        "problems",
        [_copy("problem_links", "generateUUIDv4() AS problem_id, 'planted' AS run_id", IN_DAY)],
        [f"DELETE FROM {DB}.problem_links WHERE run_id = 'planted'"],
        ("problems", "expect_column_values_to_be_unique", "appeal_id"),
    ),
    (
        "reference-calendar-ends-soon",
        "reference",
        [f"DELETE FROM {DB}.production_calendar WHERE day > today() + 30"],
        ["MIGRATE"],  # cur.migrate refills the calendar table from cur/calendar/
        ("reference_data", "expect_column_values_to_be_between", "days_ahead"),
    ),
    (
        "reference-calendar-misses-an-appeal-dated-2031",
        "reference",
        [_copy("appeals", DATED_2031, POS_ROW)],
        [UNDO_APPEALS],
        ("reference_data", "expect_column_values_to_be_between", "days_after_latest_appeal"),
    ),
    (
        "marts-share-above-one",
        "marts",
        [
            f"ALTER TABLE {ANALYTICS}.kpi_daily UPDATE first_answer_met = first_answer_due + 1"
            " WHERE report_date = toDate({end} - INTERVAL 1 SECOND, '{tz}') SETTINGS mutations_sync = 1"
        ],
        ["KPI"],
        ("kpi_marts", "expect_column_values_to_be_between", "first_answer_share"),
    ),
    (
        "marts-do-not-reconcile",
        "marts",
        [
            f"ALTER TABLE {ANALYTICS}.kpi_daily UPDATE appeals_received = appeals_received + 1"
            " WHERE report_date = toDate({end} - INTERVAL 1 SECOND, '{tz}') AND sector = 'roads'"
            " SETTINGS mutations_sync = 1"
        ],
        ["KPI"],
        ("kpi_marts", "expect_column_pair_values_to_be_equal", "mart_appeals, canonical_appeals"),
    ),
    (
        "marts-day-missing",
        "marts",
        [f"DELETE FROM {ANALYTICS}.kpi_daily WHERE report_date = toDate({{start}}, '{{tz}}') - 3"],
        ["KPI"],
        ("kpi_marts", "expect_column_values_to_be_in_set", "has_rows"),
    ),
]


@pytest.mark.parametrize(("layer", "plant", "undo", "expected"), [d[1:] for d in DEFECTS], ids=[d[0] for d in DEFECTS])
def test_each_critical_expectation_fails_on_its_planted_defect(
    scratch: Scratch, layer: str, plant: list[str], undo: list[str], expected: tuple[str, str, str]
) -> None:
    scratch.sql(*plant)
    try:
        result = scratch.gate(layer)
    finally:
        for statement in undo:
            if statement == "MIGRATE":
                migrate(scratch.settings)
            elif statement == "KPI":
                _kpi_daily(scratch)
            else:
                scratch.sql(statement)
    assert (*expected, suites.CRITICAL) in _failed(result), result.summary()
    assert not result.success


def test_clean_again_after_every_defect_was_undone(scratch: Scratch) -> None:
    """Each undo restored the clean data (so each defect above was judged alone)."""
    result = scratch.gate()
    assert result.success, result.summary()


def test_every_critical_expectation_has_a_planted_defect() -> None:
    """Coverage: the defects above exercise most critical expectations; list the rest, kept short on purpose."""
    planted = {d[4] for d in DEFECTS}
    critical = {
        (spec.name, e.expectation_type, _column(e.configuration.kwargs))
        for spec in suites.SUITES
        for e in suites.build_suite(spec.name).expectations
        if str(getattr(e.severity, "value", e.severity)) == suites.CRITICAL
    }
    assert planted <= critical
    kinds = {(suite.split("_")[0] if suite.startswith("raw_") else suite, kind) for suite, kind, _ in planted}
    assert len(planted) >= 20 and len(kinds) >= 15


def _column(kwargs: dict) -> str | None:
    names = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *kwargs.get("column_list", [])]
    return ", ".join(n for n in names if n) or None


def test_docs_service_serves_the_index_and_the_data_docs(scratch: Scratch) -> None:
    """infra/services/docs.sh: the Russian index links both sites; /gx/ is the Data Docs the gate wrote."""
    import requests

    from tests.e2e.conftest import run_infra

    scratch.gate("reference", run_id="dqtest-docs", data_docs=True)
    url = f"http://127.0.0.1:{scratch.settings.docs_port}"
    running = subprocess.run(
        ["bash", "infra/services/docs.sh", "status"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    started = "up" not in running.stdout
    if started:
        run_infra("infra/services/docs.sh", "start")
    try:
        index = requests.get(f"{url}/", timeout=10)
        assert (
            index.status_code == 200 and 'href="gx/index.html"' in index.text and 'href="dbt/index.html"' in index.text
        )
        assert "Качество данных" in index.content.decode("utf-8")  # the page names its charset in <meta>
        docs = requests.get(f"{url}/gx/index.html", timeout=10)
        assert docs.status_code == 200 and "dqtest-docs" in docs.text
    finally:
        if started:
            run_infra("infra/services/docs.sh", "stop")


def test_a_suite_that_cannot_run_is_recorded_and_stops_the_day(scratch: Scratch) -> None:
    missing = dataclasses.replace(scratch.settings, analytics_database="cur_dqtest_missing")
    result = run(missing, scratch.start, scratch.end, ("marts",), run_id="dqtest-cnr", now=scratch.now, data_docs=False)
    assert not result.success and [e.split(":")[0] for e in result.errors] == ["kpi_marts"]
    rows = scratch.client.execute(
        f"SELECT suite, expectation_type, severity, success FROM {DB}.dq_results FINAL WHERE run_id = 'dqtest-cnr'"
    )
    assert rows == [("kpi_marts", "could_not_run", "critical", False)]
