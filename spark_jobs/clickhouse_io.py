"""Spark ↔ ClickHouse through the ClickHouse JDBC driver, and the atomic replacement of an interval.

Three operations, for every Spark job of the platform:

- `read_query(spark, settings, sql, partition_column=…, lower=…, upper=…, num_partitions=…)`: an
  arbitrary SELECT read in parallel, as `num_partitions` range queries over `partition_column`. The
  JDBC driver has no Spark type for UUID (or IPv4/IPv6): select those through `spark_readable()` or
  `select_list()`, which cast them to String. Enum and LowCardinality arrive as strings, Nullable as
  nullable columns, DateTime64 as UTC timestamps, UInt64 as decimal(20,0), UInt8/UInt16 as int/long.
- `append(df, settings, table)`: a JDBC append into an existing table, in batches of
  `CUR_SPARK_JDBC_BATCH_SIZE` rows (one INSERT each). Spark's writer reads the table's schema first and
  fails on a UUID column; such a table is written through a `Null`-engine inlet with String in place of
  UUID and a materialized view that casts each inserted block into the table (server-side, no copy).
- `replace_interval(client, table, interval_condition, write)`: readers of `table` see either all its
  old rows of the interval or all the new ones, never a mix, an empty interval or a half-written one;
  a run killed at any point leaves the table as it was, and its retry converges. How: the new rows
  are written into a staging table built like the target (`write(staging)`, e.g. `append`), checked,
  completed with the target's rows of the same partitions outside the interval, and swapped in with
  one `ALTER TABLE … REPLACE PARTITION` per partition (each one atomic in ClickHouse). An interval
  inside one partition is therefore replaced in one atomic step; output tables are partitioned by the
  region-local month (`toYYYYMM(created_at, '{tz}')`), so that a region-local day always is.

Timestamps: the JDBC driver converts DateTime64 through the JVM's default time zone, so every JVM must
run in UTC; `spark_jobs.session.spark_session` sees to it and `read_query`/`append` refuse a session
that does not.

Tested on the real ClickHouse by tests/e2e/test_spark_jobs.py (types and times round trip, several
partitions, a stale staging table, the kill -9 of a job in the middle of its write).
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from spark_jobs.session import UTC_JVM

if TYPE_CHECKING:
    from clickhouse_driver import Client
    from pyspark.sql import DataFrame, SparkSession

    from cur.settings import Settings

log = logging.getLogger(__name__)

JDBC_DRIVER = "com.clickhouse.jdbc.Driver"
# ClickHouse types Spark's JDBC reader cannot map (java.sql.Types.OTHER): they travel as String.
STRING_IN_SPARK = ("UUID", "IPv4", "IPv6")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")


def jdbc_url(settings: Settings) -> str:
    """The JDBC URL of ClickHouse's HTTP interface. `compress=0`: our engine (and the driver's LZ4 with
    it) fails on compressed responses; the loopback link gains nothing from compression anyway."""
    return (
        f"jdbc:clickhouse://{settings.clickhouse_host}:{settings.clickhouse_http_port}/"
        f"{settings.clickhouse_database}?compress=0"
    )


def jdbc_options(settings: Settings) -> dict[str, str]:
    return {
        "url": jdbc_url(settings),
        "driver": JDBC_DRIVER,
        "user": settings.clickhouse_user,
        "password": settings.clickhouse_password,
    }


def _bare_type(clickhouse_type: str) -> str:
    for wrapper in ("Nullable(", "LowCardinality("):
        if clickhouse_type.startswith(wrapper):
            return _bare_type(clickhouse_type[len(wrapper) : -1])
    return clickhouse_type


def spark_readable(expression: str, clickhouse_type: str) -> str:
    """`expression` cast so that Spark's JDBC reader can map its type (UUID, IPv4, IPv6 → String)."""
    return f"toString({expression})" if _bare_type(clickhouse_type).startswith(STRING_IN_SPARK) else expression


def columns_of(client: Client, table: str) -> list[tuple[str, str]]:
    """(name, type) of the table's ordinary columns, in order (those `SELECT *` returns and INSERT takes)."""
    return [(row[0], row[1]) for row in client.execute(f"DESCRIBE TABLE {table}") if row[2] in ("", "DEFAULT")]


def select_list(
    client: Client, table: str, *, alias: str = "", expressions: Mapping[str, str] | None = None
) -> tuple[list[str], str]:
    """The table's column names, and a SELECT list of them that Spark can read.

    `expressions` replaces a column's value by another expression (same type); `alias` qualifies the
    others (`a.` + name). UUID and IP columns are cast to String (`spark_readable`).
    """
    expressions = expressions or {}
    prefix = f"{alias}." if alias else ""
    names, items = [], []
    for name, type_ in columns_of(client, table):
        value = expressions.get(name, f"{prefix}`{name}`")
        items.append(f"{spark_readable(value, type_)} AS `{name}`")
        names.append(name)
    return names, ", ".join(items)


def require_utc_jvms(spark: SparkSession) -> None:
    """Refuse a session whose JVMs are not in UTC: the JDBC driver would shift every DateTime64."""
    jvm_zone = spark.sparkContext._jvm.java.util.TimeZone.getDefault().getID()  # type: ignore[union-attr]
    conf = spark.sparkContext.getConf()
    executors = conf.get("spark.executor.extraJavaOptions", "") or ""
    local = (conf.get("spark.master", "") or "").startswith("local")
    if jvm_zone != "UTC" or (not local and UTC_JVM not in executors):
        raise RuntimeError(
            f"the Spark JVMs must run in UTC (driver: {jvm_zone}, executor options: {executors!r}):"
            " the ClickHouse JDBC driver converts DateTime64 through the JVM's time zone."
            " Build the session with spark_jobs.session.spark_session."
        )


def _bound(value: int | datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone: pass an aware datetime")
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return str(value)


def read_query(
    spark: SparkSession,
    settings: Settings,
    sql: str,
    *,
    partition_column: str,
    lower: int | datetime | date,
    upper: int | datetime | date,
    num_partitions: int,
) -> DataFrame:
    """`sql` (a SELECT) read by `num_partitions` parallel JDBC queries over ranges of `partition_column`.

    `partition_column` is a numeric, date or timestamp column of the query's result. `lower` and `upper`
    only set the stride: the first range also takes everything below `lower` (and NULL), the last
    everything from its start upwards, so no row is lost or read twice. Each range query runs as
    `SELECT … FROM (sql) AS q WHERE <range>`; ClickHouse pushes the range into `sql`.
    """
    require_utc_jvms(spark)
    if num_partitions < 1:
        raise ValueError(f"num_partitions must be at least 1, not {num_partitions}")
    return (
        spark.read.format("jdbc")
        .options(**jdbc_options(settings))
        .option("dbtable", f"({sql}) AS q")
        .option("partitionColumn", partition_column)
        .option("lowerBound", _bound(lower))
        .option("upperBound", _bound(upper))
        .option("numPartitions", str(num_partitions))
        .option("fetchsize", str(settings.spark_jdbc_batch_size))
        .load()
    )


def _write_jdbc(df: DataFrame, settings: Settings, table: str) -> None:
    (
        df.write.format("jdbc")
        .options(**jdbc_options(settings))
        .option("dbtable", table)
        .option("batchsize", str(settings.spark_jdbc_batch_size))
        .option("isolationLevel", "NONE")  # ClickHouse has no transactions; each batch is one INSERT
        .mode("append")
        .save()
    )


def append(df: DataFrame, settings: Settings, table: str, *, client: Client | None = None) -> None:
    """Insert the rows of `df` into the existing `table` (`db.name`), columns matched by name.

    Each partition of `df` is written by its task in INSERTs of up to `CUR_SPARK_JDBC_BATCH_SIZE` rows;
    a failed and retried task may insert a batch twice (write into a staging table and check, as
    `replace_interval` does, where that matters). A table with UUID or IP columns is written through
    an inlet (`<table>__inlet_<random>`, dropped after; `replace_interval` sweeps one left by a killed
    run). `client` (native protocol) runs that DDL; by default one is opened from settings.
    """
    from cur.clickhouse import native_client

    require_utc_jvms(spark=df.sparkSession)
    _check_name(table)
    own_client = client is None
    client = client or native_client(settings)
    try:
        columns = columns_of(client, table)
        unmappable = [name for name, type_ in columns if _bare_type(type_).startswith(STRING_IN_SPARK)]
        if not unmappable:
            _write_jdbc(df, settings, table)
            return
        inlet = f"{table}__inlet_{uuid.uuid4().hex[:8]}"
        view = f"{inlet}_mv"
        # The inlet keeps nothing (Null engine); the view casts each inserted block into `table`.
        client.execute(f"CREATE TABLE {inlet} AS {table} ENGINE = Null")
        client.execute(f"ALTER TABLE {inlet} " + ", ".join(f"MODIFY COLUMN `{n}` String" for n in unmappable))
        client.execute(f"CREATE MATERIALIZED VIEW {view} TO {table} AS SELECT * FROM {inlet}")
        try:
            _write_jdbc(df, settings, inlet)
        finally:
            client.execute(f"DROP TABLE IF EXISTS {view} SYNC")
            client.execute(f"DROP TABLE IF EXISTS {inlet} SYNC")
    finally:
        if own_client:
            client.disconnect()


def _check_name(table: str) -> None:
    if not _IDENTIFIER.match(table):
        raise ValueError(f"expected a qualified table name `database.table`, got {table!r}")


def utc_interval(column: str, start: datetime, end: datetime) -> str:
    """The SQL condition `start <= column < end` for a DateTime64 column (aware datetimes, as UTC literals)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("interval bounds need a time zone")
    if start >= end:
        raise ValueError(f"empty interval [{start}, {end})")

    def literal(moment: datetime) -> str:
        return f"toDateTime64('{moment.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}', 6, 'UTC')"

    return f"{column} >= {literal(start)} AND {column} < {literal(end)}"


def staging_table(table: str, interval_condition: str) -> str:
    """The staging table of one (table, interval): the same name on every retry, so a retry replaces
    what a killed run left behind, and different intervals never share one."""
    _check_name(table)
    digest = hashlib.sha256(interval_condition.encode()).hexdigest()[:12]
    return f"{table}__replace_{digest}"


def drop_staging(client: Client, staging: str) -> list[str]:
    """Drop a staging table and whatever was built on it (`<staging>__…`: inlets and their views)."""
    database, name = staging.split(".", 1)
    rows = client.execute(
        "SELECT name, engine FROM system.tables WHERE database = %(db)s AND (name = %(n)s OR startsWith(name, %(p)s))",
        {"db": database, "n": name, "p": f"{name}__"},
    )
    # Views first: a view whose target is gone cannot take inserts, but its inlet could still be written.
    ordered = sorted(rows, key=lambda row: row[1] != "MaterializedView")
    for table_name, _ in ordered:
        client.execute(f"DROP TABLE IF EXISTS {database}.`{table_name}` SYNC")
    return [f"{database}.{table_name}" for table_name, _ in ordered]


@dataclass(frozen=True)
class Replacement:
    """What `replace_interval` did: the partitions it swapped, the rows now in the interval, the rows
    of those partitions outside the interval that it carried over unchanged."""

    partitions: tuple[str, ...]
    rows_in_interval: int
    rows_carried_over: int


def replace_interval(
    client: Client,
    table: str,
    interval_condition: str,
    write: Callable[[str], int | None],
    *,
    several_partitions: bool = False,
) -> Replacement:
    """Replace the rows of `table` where `interval_condition` holds by the rows `write(staging)` writes.

    `write` receives the name of an empty staging table built like `table` (same columns, engine,
    partition key) and writes the new rows of the interval into it, e.g. with `append`; it returns how
    many it wrote, or None to skip that check. Before anything in `table` changes, the staging table
    must hold exactly that many rows, all inside the interval (a retried Spark task that wrote a batch
    twice, or a row outside the interval, fails the call). Then the rows of `table` outside the
    interval in the partitions involved are copied into the staging table, and each partition is
    swapped in with `ALTER TABLE … REPLACE PARTITION` (or dropped, when nothing is left in it).

    Guarantees: readers see the interval's old rows or its new rows, never a mix, a gap or a half;
    rows outside the interval are unchanged; a run killed at any point leaves `table` as it was (or,
    killed between two partitions, with some partitions replaced: refused unless `several_partitions`);
    a retry starts by dropping what a killed run left. Running the same interval twice gives the same
    table. Not guarded: other writers of `table` during the call (rows they add to a partition being
    replaced are lost) and two replacements of intervals in one partition at once; the Airflow DAG runs
    one interval at a time. Tested by tests/e2e/test_spark_jobs.py.
    """
    staging = staging_table(table, interval_condition)
    inside = f"ifNull(({interval_condition}), 0)"
    stale = drop_staging(client, staging)
    if stale:
        log.warning("dropped what an earlier run left behind: %s", ", ".join(stale))
    client.execute(f"CREATE TABLE {staging} AS {table}")
    try:
        expected = write(staging)
        written, outside = client.execute(f"SELECT count(), countIf(NOT {inside}) FROM {staging}")[0]
        if outside:
            raise ValueError(f"{outside} of the {written} rows written for {table} lie outside {interval_condition}")
        if expected is not None and written != expected:
            raise RuntimeError(
                f"the staging table {staging} holds {written} rows, the writer wrote {expected}"
                " (a retried task inserted a batch twice?): nothing replaced"
            )
        new_partitions = {row[0] for row in client.execute(f"SELECT DISTINCT _partition_id FROM {staging}")}
        old_partitions = {
            row[0] for row in client.execute(f"SELECT DISTINCT _partition_id FROM {table} WHERE {inside}")
        }
        partitions = tuple(sorted(new_partitions | old_partitions))
        if len(partitions) > 1 and not several_partitions:
            raise ValueError(
                f"the interval {interval_condition} spans the partitions {', '.join(partitions)} of {table}:"
                " its replacement would be atomic per partition only (pass several_partitions=True to accept)"
            )
        carried = 0
        if partitions:
            ids = ", ".join(f"'{p}'" for p in partitions)
            client.execute(
                f"INSERT INTO {staging} SELECT * FROM {table} WHERE _partition_id IN ({ids}) AND NOT {inside}"
            )
            carried = client.execute(f"SELECT count() FROM {staging}")[0][0] - written
        filled = {row[0] for row in client.execute(f"SELECT DISTINCT _partition_id FROM {staging}")}
        for partition in partitions:
            if partition in filled:
                client.execute(f"ALTER TABLE {table} REPLACE PARTITION ID '{partition}' FROM {staging}")
            else:  # nothing left in it: REPLACE refuses an empty source
                client.execute(f"ALTER TABLE {table} DROP PARTITION ID '{partition}'")
        log.info(
            "replaced %s in %s: %d rows in the interval, %d carried over (partitions %s)",
            interval_condition,
            table,
            written,
            carried,
            ", ".join(partitions) or "none",
        )
        return Replacement(partitions=partitions, rows_in_interval=written, rows_carried_over=carried)
    finally:
        drop_staging(client, staging)
