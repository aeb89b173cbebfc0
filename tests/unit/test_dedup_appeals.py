"""The survivor rule of the Spark dedup job, on a small local DataFrame (no ClickHouse needed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from spark_jobs.dedup_appeals import deduplicate, spark_session

# The types Spark reads from ClickHouse's Parquet export (UUID and Enum8 arrive as strings).
SCHEMA = (
    "source string, source_id string, text string, lat double, created_at timestamp, "
    "kafka_partition int, kafka_offset decimal(20,0), version decimal(20,0), ingested_at timestamp"
)
COLUMNS = [field.split()[0] for field in SCHEMA.split(", ")]
T0 = datetime(2026, 11, 10, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    logging.getLogger("py4j").setLevel(logging.WARNING)  # no INFO from its shutdown at exit
    session = spark_session(Path(tmp_path_factory.mktemp("spark")))
    yield session
    session.stop()


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
