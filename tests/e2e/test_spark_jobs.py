"""Spark on the real ClickHouse through the JDBC driver: the dedup job in local mode and on a standalone
cluster gives the reference table, and the replacement of an interval stays atomic when the job is
killed with kill -9 in the middle of its write.

Three region-local days around a month's end are bulk-loaded into a database of this module's own
(`cur_spark_e2e`, dropped before and after), with exact copies planted and merges stopped so that the
copies stay. The job replaces the local day 2026-11-01, [2026-10-31 21:00Z, 2026-11-01 21:00Z): it
spans two UTC months but one local month, so one partition of `appeals_dedup`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from clickhouse_driver import Client

from cur.clickhouse import native_client
from cur.migrate import migrate
from cur.settings import REPO_ROOT, Settings
from spark_jobs.clickhouse_io import columns_of, replace_interval, staging_table, utc_interval
from spark_jobs.dedup_appeals import CURRENT_STATE
from streams.generator.bulk import load_history
from tests.e2e.conftest import run_infra, wait_for

pytestmark = pytest.mark.e2e

DATABASE = "cur_spark_e2e"
FIRST_DAY, DAYS, LIVES, SEED = date(2026, 10, 31), 3, 900, 23
START, END = datetime(2026, 10, 31, 21, tzinfo=UTC), datetime(2026, 11, 1, 21, tzinfo=UTC)
INTERVAL = utc_interval("created_at", START, END)
NEXT_DAY = utc_interval("created_at", END, datetime(2026, 11, 2, 21, tzinfo=UTC))
PREVIOUS_DAY = utc_interval("created_at", datetime(2026, 10, 30, 21, tzinfo=UTC), START)
PLANTED_COPIES = 150  # exact replays (same version, a later offset) in the interval


@pytest.fixture(scope="module")
def own(settings: Settings) -> Iterator[tuple[Settings, Client]]:
    """The test stack's ClickHouse with a database of its own, loaded, with planted copies; dropped after."""
    spark_settings = replace(settings, clickhouse_database=DATABASE)
    admin = native_client(spark_settings)
    admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} SYNC")
    migrate(spark_settings)
    client = native_client(spark_settings, database=DATABASE)
    try:
        load_history(FIRST_DAY, [LIVES] * DAYS, SEED, spark_settings, until=None, workers=1)
        client.execute("OPTIMIZE TABLE appeals FINAL")
        client.execute("SYSTEM STOP MERGES appeals")  # the copies below stay for the job to collapse
        client.execute(
            "INSERT INTO appeals SELECT * REPLACE (kafka_offset + 1000000 AS kafka_offset) FROM appeals"
            f" WHERE {INTERVAL} ORDER BY source, source_id LIMIT {PLANTED_COPIES}"
        )
        # Rows of the neighbouring days in appeals_dedup: the replacement must leave them as they are.
        for day in (PREVIOUS_DAY, NEXT_DAY):
            client.execute(f"INSERT INTO appeals_dedup SELECT * FROM appeals FINAL WHERE {day}")
        yield spark_settings, client
    finally:
        client.disconnect()
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} SYNC")
        admin.disconnect()


def reference(client: Client, condition: str) -> list[tuple]:
    """The job's rule restated in SQL: per (source, source_id) the copy with the highest (version,
    offset, partition, ingested_at), with status and first answer from `appeal_state`."""
    columns = [name for name, _ in columns_of(client, "appeals")]
    select = ", ".join(f"{CURRENT_STATE.get(name, f'a.`{name}`')} AS `{name}`" for name in columns)
    return client.execute(
        f"SELECT {select} FROM (SELECT * EXCEPT rank FROM (SELECT *, row_number() OVER (PARTITION BY source,"
        " source_id ORDER BY version DESC, kafka_offset DESC, kafka_partition DESC, ingested_at DESC) AS rank"
        f" FROM appeals WHERE {condition}) WHERE rank = 1) AS a"
        " LEFT JOIN appeal_state AS s ON a.source = s.source AND a.source_id = s.source_id"
        " ORDER BY source, source_id"
    )


def target_rows(client: Client, condition: str) -> list[tuple]:
    return client.execute(f"SELECT * FROM appeals_dedup WHERE {condition} ORDER BY source, source_id")


def leftovers(client: Client) -> list[str]:
    """Staging tables, inlets and their views left in the database."""
    rows = client.execute(
        "SELECT name FROM system.tables WHERE database = %(db)s"
        " AND (position(name, '__replace_') > 0 OR position(name, '__inlet_') > 0)",
        {"db": DATABASE},
    )
    return [row[0] for row in rows]


def job_command() -> list[str]:
    return [sys.executable, "-m", "spark_jobs.dedup_appeals", "--start", START.isoformat(), "--end", END.isoformat()]


def job_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "CLICKHOUSE_DATABASE": settings.clickhouse_database, **extra}


def run_job(settings: Settings, arguments: list[str] | None = None, **extra: str) -> dict[str, int]:
    """Run a job as the DAG does (a subprocess; the dedup job unless `arguments` are given); return the
    counts of its last stdout line."""
    began = time.monotonic()
    command = [sys.executable, *arguments] if arguments else job_command()
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=job_env(settings, **extra), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"the job failed:\n{result.stderr[-4000:]}"
    print(f"{command[2]} ({extra or 'local mode'}): {time.monotonic() - began:.1f}s")
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def local_run(own: tuple[Settings, Client]) -> dict[str, int]:
    settings, client = own
    neighbours = [target_rows(client, day) for day in (PREVIOUS_DAY, NEXT_DAY)]
    counts = run_job(settings, CUR_SPARK_MASTER="local[2]")
    assert [target_rows(client, day) for day in (PREVIOUS_DAY, NEXT_DAY)] == neighbours
    return counts


def test_local_mode_gives_the_reference_and_leaves_the_neighbouring_days(
    own: tuple[Settings, Client], local_run: dict[str, int]
) -> None:
    _, client = own
    expected = reference(client, INTERVAL)
    assert local_run == {
        "rows_read": len(expected) + PLANTED_COPIES,
        "rows_written": len(expected),
        "duplicates_removed": PLANTED_COPIES,
    }
    # Every type came through the driver and back: UUID, Enum8, LowCardinality, Nullable, DateTime64, UInt64.
    assert target_rows(client, INTERVAL) == expected
    [(partitions,)] = client.execute(f"SELECT groupUniqArray(_partition_id) FROM appeals_dedup WHERE {INTERVAL}")
    assert partitions == ["202611"]  # one local month, though the interval starts in UTC October
    assert leftovers(client) == []


@pytest.fixture(scope="module")
def cluster(settings: Settings) -> Iterator[str]:
    """A standalone master and worker (infra/services/spark.sh) for this module's cluster runs; its URL."""
    run_infra("infra/services/spark.sh", "start")
    try:
        yield f"spark://127.0.0.1:{settings.spark_master_port}"
    finally:
        run_infra("infra/services/spark.sh", "stop")


def completed_apps(settings: Settings) -> list[str]:
    apps = requests.get(f"http://127.0.0.1:{settings.spark_master_ui_port}/json/", timeout=10).json()
    return [app["name"] for app in apps["completedapps"]]


def test_standalone_cluster_gives_the_same_table(
    own: tuple[Settings, Client], local_run: dict[str, int], cluster: str
) -> None:
    settings, client = own
    after_local = target_rows(client, INTERVAL)
    counts = run_job(settings, CUR_SPARK_MASTER=cluster)
    assert "dedup_appeals" in completed_apps(settings)  # it ran on the cluster
    assert counts == local_run
    assert target_rows(client, INTERVAL) == after_local


def problem_links(client: Client) -> list[tuple]:
    """The interval's links without what names the run (run id, computation time)."""
    return client.execute(
        f"SELECT * EXCEPT (run_id, computed_at) FROM problem_links WHERE {INTERVAL} ORDER BY source, source_id"
    )


def test_problem_linkage_on_the_standalone_cluster_gives_the_local_links(
    own: tuple[Settings, Client], local_run: dict[str, int], cluster: str
) -> None:
    """The Splink job (its JDBC reads, Splink's SQL and clustering on executors, the atomic write) is not
    tied to local mode: on the cluster it writes the links local mode wrote, row for row."""
    settings, client = own
    command = ["-m", "spark_jobs.problems.job", "--start", START.isoformat(), "--end", END.isoformat()]
    local = run_job(settings, command, CUR_SPARK_MASTER="local[2]")
    links = problem_links(client)
    assert local["appeals_linked"] == len(links) > 0 and local["multi_report_problems"] > 0, local
    on_cluster = run_job(settings, command, CUR_SPARK_MASTER=cluster)
    assert "link_problems" in completed_apps(settings)
    assert {**on_cluster, "seconds": 0} == {**local, "seconds": 0}
    assert problem_links(client) == links


class Reader(threading.Thread):
    """Counts the interval's rows in appeals_dedup over and over, as a dashboard would, until stopped."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.client = native_client(settings, database=DATABASE)
        self.seen: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.seen.append(self.client.execute(f"SELECT count() FROM appeals_dedup WHERE {INTERVAL}")[0][0])
            time.sleep(0.01)
        self.client.disconnect()


def _staging_rows(client: Client, staging: str) -> Callable[[], int]:
    def count() -> int:
        try:
            return client.execute(f"SELECT count() FROM {staging}")[0][0]
        except Exception:  # not created yet
            return 0

    return count


def test_kill_9_in_the_middle_of_the_write_leaves_the_old_interval_and_the_retry_converges(
    own: tuple[Settings, Client], local_run: dict[str, int], tmp_path: Path
) -> None:
    settings, client = own
    old = client.execute(f"SELECT count() FROM appeals_dedup WHERE {INTERVAL}")[0][0]
    # New appeals land in the interval, so the new result differs from the old one.
    client.execute(
        "INSERT INTO appeals SELECT * REPLACE (generateUUIDv4() AS appeal_id, concat(source_id, '-new') AS source_id)"
        f" FROM appeals FINAL WHERE {INTERVAL} ORDER BY source, source_id LIMIT 300"
    )
    expected = reference(client, INTERVAL)
    new = len(expected)
    assert new == old + 300
    neighbours = [target_rows(client, day) for day in (PREVIOUS_DAY, NEXT_DAY)]
    staging = staging_table(f"{DATABASE}.appeals_dedup", INTERVAL)
    watcher = native_client(settings, database=DATABASE)
    staged = _staging_rows(watcher, staging)

    reader = Reader(settings)
    reader.start()
    try:
        # Small INSERTs make the write last long enough to be caught in the middle.
        log = (tmp_path / "killed.log").open("w")
        job = subprocess.Popen(
            job_command(),
            cwd=REPO_ROOT,
            env=job_env(settings, CUR_SPARK_MASTER="local[2]", CUR_SPARK_JDBC_BATCH_SIZE="20"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the Python driver and Spark's JVM
        )
        try:
            wait_for(
                lambda: staged() >= new // 4 or job.poll() is not None,
                timeout=300,
                what="the job to start writing",
                interval=0.02,
            )
            at_kill = staged()
            os.killpg(job.pid, signal.SIGKILL)
            job.wait(timeout=30)
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
            log.close()
        assert 0 < at_kill < new, f"not killed in the middle of the write ({at_kill} of {new} rows staged)"
        time.sleep(1)  # the reader keeps reading the table the killed job left
        assert client.execute(f"SELECT count() FROM appeals_dedup WHERE {INTERVAL}")[0][0] == old
        assert leftovers(client), "the killed job left no staging table: the retry's clean-up is not exercised"

        counts = run_job(settings, CUR_SPARK_MASTER="local[2]")  # the retry
        time.sleep(0.5)
    finally:
        reader.stopping.set()
        reader.join(timeout=30)
        watcher.disconnect()

    assert set(reader.seen) <= {old, new}, f"readers saw a partial interval: {sorted(set(reader.seen))}"
    assert reader.seen[0] == old and reader.seen[-1] == new
    print(
        f"reader: {len(reader.seen)} reads, {reader.seen.count(old)} old, {reader.seen.count(new)} new;"
        f" killed with {at_kill} of {new} rows staged"
    )
    assert counts["rows_written"] == new
    assert target_rows(client, INTERVAL) == expected
    assert [target_rows(client, day) for day in (PREVIOUS_DAY, NEXT_DAY)] == neighbours
    assert leftovers(client) == []


# --- replace_interval's guards, with ClickHouse alone (the writer is an INSERT, not Spark) ------------


@pytest.fixture
def events(own: tuple[Settings, Client]) -> Iterator[Client]:
    """A small table partitioned by the local month: one row on each of three local days."""
    _, client = own
    client.execute("DROP TABLE IF EXISTS guard_events SYNC")
    client.execute(
        "CREATE TABLE guard_events (k String, created_at DateTime64(3, 'UTC'))"
        " ENGINE = MergeTree PARTITION BY toYYYYMM(created_at, 'Europe/Moscow') ORDER BY k"
    )
    client.execute(
        "INSERT INTO guard_events VALUES",
        [
            ("oct-31", datetime(2026, 10, 30, 22, tzinfo=UTC)),  # local 2026-10-31 01:00
            ("nov-01", datetime(2026, 10, 31, 22, tzinfo=UTC)),  # local 2026-11-01 01:00
            ("nov-02", datetime(2026, 11, 1, 22, tzinfo=UTC)),  # local 2026-11-02 01:00
        ],
    )
    yield client
    client.execute("DROP TABLE IF EXISTS guard_events SYNC")


def _keys(client: Client) -> list[str]:
    return [row[0] for row in client.execute("SELECT k FROM guard_events ORDER BY created_at")]


def _insert(client: Client, *rows: tuple[str, datetime]) -> Callable[[str], int]:
    def write(staging: str) -> int:
        client.execute(f"INSERT INTO {staging} VALUES", list(rows))
        return len(rows)

    return write


def test_replace_interval_swaps_one_partition_and_keeps_the_rest(events: Client) -> None:
    done = replace_interval(
        events,
        f"{DATABASE}.guard_events",
        INTERVAL,
        _insert(events, ("nov-01-new", datetime(2026, 11, 1, 10, tzinfo=UTC))),
    )
    assert (done.partitions, done.rows_in_interval, done.rows_carried_over) == (("202611",), 1, 1)
    assert _keys(events) == ["oct-31", "nov-01-new", "nov-02"]
    # Nothing written: the interval is emptied; twice, to show it is idempotent.
    for _ in range(2):
        replace_interval(events, f"{DATABASE}.guard_events", INTERVAL, _insert(events))
        assert _keys(events) == ["oct-31", "nov-02"]


def test_replace_interval_refuses_rows_outside_the_interval_and_a_short_count(events: Client) -> None:
    table = f"{DATABASE}.guard_events"
    with pytest.raises(ValueError, match="outside"):
        replace_interval(events, table, INTERVAL, _insert(events, ("stray", datetime(2026, 11, 5, tzinfo=UTC))))

    def short(staging: str) -> int:
        _insert(events, ("nov-01-new", datetime(2026, 11, 1, 10, tzinfo=UTC)))(staging)
        return 2  # as if a row were lost

    with pytest.raises(RuntimeError, match="holds 1 rows"):
        replace_interval(events, table, INTERVAL, short)
    assert _keys(events) == ["oct-31", "nov-01", "nov-02"]
    assert leftovers(events) == []


def test_replace_interval_across_partitions_only_when_asked(events: Client) -> None:
    table, two_days = (
        f"{DATABASE}.guard_events",
        utc_interval("created_at", datetime(2026, 10, 30, 21, tzinfo=UTC), END),
    )
    with pytest.raises(ValueError, match="spans the partitions 202610, 202611"):
        replace_interval(events, table, two_days, _insert(events))
    assert _keys(events) == ["oct-31", "nov-01", "nov-02"]
    done = replace_interval(events, table, two_days, _insert(events), several_partitions=True)
    assert done.partitions == ("202610", "202611")
    assert _keys(events) == ["nov-02"]
