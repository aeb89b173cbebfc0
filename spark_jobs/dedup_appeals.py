"""Deduplicate one data interval of `cur.appeals` into `cur.appeals_dedup` with PySpark.

Faust lands every Kafka event it sees, so a replayed event leaves an exact copy of an appeal (same
source and source_id, another Kafka offset) until ClickHouse happens to merge the parts. This job
keeps one row per (source, source_id) — highest `version`, then highest Kafka offset — for the
appeals created in [start, end) and replaces that interval in `cur.appeals_dedup`, so running it
twice gives the same table.

The status and first answer of each appeal are its current state, derived from its status events
by the ClickHouse view `appeal_state` (joined at export), not the values of the record that
created it.

Data moves as Parquet over ClickHouse's HTTP interface (no JDBC driver to download): ClickHouse
exports the interval to a file, Spark reads it and writes the result as Parquet, and ClickHouse
inserts that file, casting every column back to the table's type by name. Types Spark's Parquet
reader does not know (UUID, Enum8) travel as strings.

    python -m spark_jobs.dedup_appeals --start 2026-11-19T21:00:00Z --end 2026-11-20T21:00:00Z
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    from clickhouse_connect.driver.client import Client
    from pyspark.sql import DataFrame, SparkSession

    from cur.settings import Settings

log = logging.getLogger(__name__)

SOURCE_TABLE = "appeals"
TARGET_TABLE = "appeals_dedup"
IDENTITY = ("source", "source_id")
# Which copy of an appeal survives: the latest version; among equal versions, the latest Kafka
# offset; the remaining keys only make the choice deterministic.
SURVIVOR_ORDER = ("version", "kafka_offset", "kafka_partition", "ingested_at")
INTERVAL_FILTER = "created_at >= {start:DateTime64(3, 'UTC')} AND created_at < {end:DateTime64(3, 'UTC')}"


class DedupCounts(TypedDict):
    rows_read: int
    rows_written: int
    duplicates_removed: int


def deduplicate(appeals: DataFrame) -> DataFrame:
    """One row per (source, source_id): the surviving copy, with the input's columns unchanged."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    survivor_first = Window.partitionBy(*IDENTITY).orderBy(*(F.col(c).desc() for c in SURVIVOR_ORDER))
    return (
        appeals.withColumn("_survivor_rank", F.row_number().over(survivor_first))
        .where(F.col("_survivor_rank") == 1)
        .drop("_survivor_rank")
    )


def spark_session(work_dir: Path) -> SparkSession:
    """A small local Spark: 2 cores, UTC, no UI, scratch files under `work_dir`."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.appName("dedup_appeals")
        .master("local[2]")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.local.dir", str(work_dir))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def http_client(settings: Settings) -> Client:
    import clickhouse_connect

    return clickhouse_connect.get_client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_http_port,
        username=settings.clickhouse_user,
        password=settings.clickhouse_password,
        database=settings.clickhouse_database,
        send_receive_timeout=600,
    )


# Columns whose exported value is the appeal's current state (alias `s` = the view `appeal_state`).
CURRENT_STATE = {
    "status": "if(s.events > 0, s.current_status, a.status)",
    "first_response_at": "if(s.events > 0, s.first_response_at, a.first_response_at)",
}


def export_columns(client: Client, table: str) -> tuple[list[str], list[str]]:
    """The table's column names and the SELECT expressions (over `a` = the table) that export them.

    UUID and Enum become strings (Spark has no such types); everything else keeps its Parquet
    type: DateTime64 a UTC timestamp, Nullable an optional field, LowCardinality a string.
    """
    names: list[str] = []
    expressions: list[str] = []
    for row in client.query(f"DESCRIBE TABLE {table}").result_rows:
        name, type_ = row[0], row[1]
        bare = type_.removeprefix("Nullable(").removeprefix("LowCardinality(")
        value = CURRENT_STATE.get(name, f"a.`{name}`")
        expressions.append(
            f"toString({value}) AS `{name}`" if bare.startswith(("UUID", "Enum")) else f"{value} AS `{name}`"
        )
        names.append(name)
    return names, expressions


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: pass an aware datetime")
    return moment.astimezone(UTC)


def run(settings: Settings, start: datetime, end: datetime) -> DedupCounts:
    """Replace the rows of [start, end) in `cur.appeals_dedup` with the deduplicated rows of `cur.appeals`."""
    start, end = _utc(start), _utc(end)
    if start >= end:
        raise ValueError(f"empty interval [{start}, {end})")
    db = settings.clickhouse_database
    source, target = f"{db}.{SOURCE_TABLE}", f"{db}.{TARGET_TABLE}"
    params = {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}
    began = time.monotonic()
    log.info("dedup %s -> %s for [%s, %s)", source, target, start.isoformat(), end.isoformat())

    client = http_client(settings)
    scratch_root = settings.state_dir / "tmp"
    scratch_root.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="dedup_appeals_", dir=scratch_root))
    try:
        columns, select_list = export_columns(client, source)
        result_files: list[Path] = []
        rows_read = rows_written = 0
        if client.command(f"SELECT count() FROM {source} WHERE {INTERVAL_FILTER}", parameters=params):
            exported = work_dir / "appeals.parquet"
            exported.write_bytes(
                client.raw_query(
                    f"SELECT {', '.join(select_list)} FROM {source} AS a"
                    f" LEFT JOIN {db}.appeal_state AS s ON a.source = s.source AND a.source_id = s.source_id"
                    f" WHERE {INTERVAL_FILTER.replace('created_at', 'a.created_at')}",
                    parameters=params,
                    fmt="Parquet",
                )
            )
            log.info("exported the interval from ClickHouse (%d bytes of Parquet)", exported.stat().st_size)
            spark = spark_session(work_dir)
            try:
                appeals = spark.read.parquet(str(exported))
                rows_read = appeals.count()
                deduplicate(appeals).select(*columns).coalesce(1).write.parquet(str(work_dir / "dedup"))
                rows_written = spark.read.parquet(str(work_dir / "dedup")).count()
            finally:
                spark.stop()
            result_files = sorted((work_dir / "dedup").glob("part-*.parquet"))
            log.info("Spark kept %d of %d rows", rows_written, rows_read)
        else:
            log.info("no appeals in the interval: it is emptied in %s", target)

        # Replace the interval: delete what a previous run wrote, then insert this run's rows.
        client.command(f"DELETE FROM {target} WHERE {INTERVAL_FILTER}", parameters=params)
        for part in result_files:
            with part.open("rb") as data:
                client.raw_insert(target, columns, insert_block=data, fmt="Parquet")
        landed = client.command(f"SELECT count() FROM {target} WHERE {INTERVAL_FILTER}", parameters=params)
        if landed != rows_written:
            raise RuntimeError(f"{target} holds {landed} rows for the interval, expected {rows_written}")
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        client.close()

    counts = DedupCounts(rows_read=rows_read, rows_written=rows_written, duplicates_removed=rows_read - rows_written)
    log.info("done in %.1fs: %s", time.monotonic() - began, counts)
    return counts


def _iso_utc(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> None:
    from cur import settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=_iso_utc, required=True, help="interval start, ISO-8601 (naive = UTC)")
    parser.add_argument("--end", type=_iso_utc, required=True, help="interval end (exclusive), ISO-8601")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    counts = run(settings.load(), args.start, args.end)
    print(json.dumps(counts), flush=True)  # the last line of stdout: the counts, for the DAG's task


if __name__ == "__main__":
    main()
