"""Deduplicate one data interval of `cur.appeals` into `cur.appeals_dedup` with PySpark.

Faust lands every Kafka event it sees, so a replayed event leaves an exact copy of an appeal (same
source and source_id, another Kafka offset) until ClickHouse happens to merge the parts. This job
keeps one row per (source, source_id) — highest `version`, then highest Kafka offset — for the
appeals created in [start, end) and replaces that interval in `cur.appeals_dedup` atomically, so
readers see the old or the new interval, never a gap, and running it twice gives the same table.

The status and first answer of each appeal are its current state, derived from its status events
by the ClickHouse view `appeal_state` (joined in the read query), not the values of the record that
created it. The appeals are read without FINAL: collapsing the copies is this job's work.

Data moves through the ClickHouse JDBC driver (spark_jobs/clickhouse_io.py): a partitioned parallel
read of the interval, a JDBC append into a staging table, then `REPLACE PARTITION` into the target,
whose partitions are region-local months (a region-local day lies in one). Nothing passes through
files on the driver's disk, so the job runs the same on a cluster (`CUR_SPARK_MASTER`). Tested by
tests/unit/test_dedup_appeals.py (the survivor rule) and tests/e2e/test_spark_jobs.py (local mode
and standalone cluster give the same table; kill -9 in the middle of the write).

    python -m spark_jobs.dedup_appeals --start 2026-11-19T21:00:00Z --end 2026-11-20T21:00:00Z
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    from pyspark.sql import DataFrame

    from cur.settings import Settings

log = logging.getLogger(__name__)

SOURCE_TABLE = "appeals"
TARGET_TABLE = "appeals_dedup"
IDENTITY = ("source", "source_id")
# Which copy of an appeal survives: the latest version; among equal versions, the latest Kafka
# offset; the remaining keys only make the choice deterministic.
SURVIVOR_ORDER = ("version", "kafka_offset", "kafka_partition", "ingested_at")
# Columns whose value is the appeal's current state (alias `s` = the view `appeal_state`).
CURRENT_STATE = {
    "status": "if(s.events > 0, s.current_status, a.status)",
    "first_response_at": "if(s.events > 0, s.first_response_at, a.first_response_at)",
}


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


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: pass an aware datetime")
    return moment.astimezone(UTC)


def run(settings: Settings, start: datetime, end: datetime) -> DedupCounts:
    """Replace the rows of [start, end) in `cur.appeals_dedup` with the deduplicated rows of `cur.appeals`."""
    from pyspark import StorageLevel

    from cur.clickhouse import native_client
    from spark_jobs.clickhouse_io import append, read_query, replace_interval, select_list, utc_interval
    from spark_jobs.session import job_session

    start, end = _utc(start), _utc(end)
    db = settings.clickhouse_database
    source, target = f"{db}.{SOURCE_TABLE}", f"{db}.{TARGET_TABLE}"
    began = time.monotonic()
    log.info("dedup %s -> %s for [%s, %s)", source, target, start.isoformat(), end.isoformat())

    client = native_client(settings)
    try:
        with job_session(settings, "dedup_appeals") as spark:
            columns, select = select_list(client, source, alias="a", expressions=CURRENT_STATE)
            query = (
                f"SELECT {select} FROM {source} AS a"
                f" LEFT JOIN {db}.appeal_state AS s ON a.source = s.source AND a.source_id = s.source_id"
                f" WHERE {utc_interval('a.created_at', start, end)}"
            )
            appeals = read_query(
                spark,
                settings,
                query,
                partition_column="created_at",
                lower=start,
                upper=end,
                num_partitions=2 * settings.spark_executor_cores,
            ).persist(StorageLevel.MEMORY_AND_DISK)
            rows_read = appeals.count()
            survivors = deduplicate(appeals).select(*columns).persist(StorageLevel.MEMORY_AND_DISK)
            rows_written = survivors.count()
            log.info("Spark kept %d of %d rows", rows_written, rows_read)

            def write(staging: str) -> int:
                append(survivors, settings, staging, client=client)
                return rows_written

            replace_interval(client, target, utc_interval("created_at", start, end), write)
            # a shared session runs the next job with what is left of the memory
            survivors.unpersist()
            appeals.unpersist()
    finally:
        client.disconnect()

    counts = DedupCounts(rows_read=rows_read, rows_written=rows_written, duplicates_removed=rows_read - rows_written)
    log.info("done in %.1fs: %s", time.monotonic() - began, counts)
    return counts


def main(argv: list[str] | None = None) -> None:
    from spark_jobs.cli import run_interval_job

    run_interval_job(__doc__.splitlines()[0], run, argv)


if __name__ == "__main__":
    main()
