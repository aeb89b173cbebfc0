"""The survivor rule of the Spark dedup job, on a small local DataFrame (no ClickHouse needed), and
the session every job gets from spark_jobs.session."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from cur import settings as settings_module
from spark_jobs.dedup_appeals import deduplicate
from spark_jobs.session import spark_session

# The types Spark reads through the ClickHouse JDBC driver (spark_jobs/clickhouse_io.py): UUID cast to
# String in the query, Enum8 as string, UInt16 as long, UInt64 as decimal(20,0).
SCHEMA = (
    "source string, source_id string, text string, lat double, created_at timestamp, "
    "kafka_partition long, kafka_offset decimal(20,0), version decimal(20,0), ingested_at timestamp"
)
COLUMNS = [field.split()[0] for field in SCHEMA.split(", ")]
T0 = datetime(2026, 11, 10, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    logging.getLogger("py4j").setLevel(logging.WARNING)  # no INFO from its shutdown at exit
    settings = replace(
        settings_module.load(), state_dir=Path(tmp_path_factory.mktemp("state")), spark_master="local[2]"
    )
    session = spark_session(settings, "test_dedup_appeals")
    yield session
    session.stop()


def test_session_runs_in_utc_with_the_jdbc_driver(spark: SparkSession) -> None:
    """The JDBC driver converts DateTime64 through the JVM's zone: every JVM must be in UTC."""
    conf = spark.sparkContext.getConf()
    assert spark.sparkContext._jvm.java.util.TimeZone.getDefault().getID() == "UTC"
    assert "-Duser.timezone=UTC" in conf.get("spark.executor.extraJavaOptions")
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert any(Path(jar).name.startswith("clickhouse-jdbc-") for jar in conf.get("spark.jars").split(","))
    assert spark.sparkContext.getCheckpointDir() is not None


def test_keeps_highest_version_then_highest_offset(spark: SparkSession) -> None:
    rows = [
        # an update: the higher version wins even at a lower offset
        ("pos", "A", "old", 54.5, T0, 0, Decimal(10), Decimal(2), T0),
        ("pos", "A", "new", 54.5, T0, 0, Decimal(5), Decimal(3), T0),
        # an exact replay: same version, the later offset wins
        ("112", "A", "first", None, T0, 1, Decimal(7), Decimal(1), T0),
        ("112", "A", "replay", None, T0, 1, Decimal(9), Decimal(1), T0),
        # the same source_id in another feed is another appeal
        ("housing", "A", "only", None, T0, 0, Decimal(1), Decimal(1), T0),
    ]
    appeals = spark.createDataFrame(rows, SCHEMA)

    result = {(r.source, r.source_id): r for r in deduplicate(appeals).collect()}

    assert set(result) == {("pos", "A"), ("112", "A"), ("housing", "A")}
    assert result["pos", "A"].text == "new"
    assert result["112", "A"].text == "replay"
    assert result["112", "A"].lat is None
    assert deduplicate(appeals).columns == COLUMNS


def test_is_idempotent(spark: SparkSession) -> None:
    rows = [("pos", str(i % 3), "t", None, T0, 0, Decimal(i), Decimal(1), T0) for i in range(9)]
    once = deduplicate(spark.createDataFrame(rows, SCHEMA))
    twice = deduplicate(once)
    assert sorted(once.collect()) == sorted(twice.collect())
    assert once.count() == 3
