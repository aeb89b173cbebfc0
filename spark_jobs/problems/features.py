"""The comparison features of canonical appeals, read from ClickHouse into Spark (features.sql).

ClickHouse computes them at read time: the H3 cell and its ring (`geoToH3`, the same cells as the
`h3` package: tests/e2e/test_problems.py), the address parsed into street and house, the character
3-grams of a person's free text. Spark receives plain columns and splits the two list columns.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from cur import taxonomy

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from cur.settings import Settings

SQL_PATH = Path(__file__).resolve().parent / "features.sql"
ADDRESS_SQL_PATH = Path(__file__).resolve().parent / "address.sql"


@cache
def municipality_pattern() -> str:
    """The region's municipality names as a regular-expression alternation (lower case, ё as е),
    longest first so that "Боровский район" is cut whole from "Боровский район, ул. …"."""
    names = {name.lower().replace("ё", "е") for name in taxonomy.municipalities().values()}
    return "|".join(re.escape(name).replace("\\ ", " ") for name in sorted(names, key=len, reverse=True))


def features_sql(database: str) -> str:
    """The SELECT of features.sql for one database; the interval is bound as {start} and {end}."""
    sql = SQL_PATH.read_text(encoding="utf-8")
    parse = "\n".join(
        line for line in ADDRESS_SQL_PATH.read_text(encoding="utf-8").splitlines() if not line.startswith("--")
    ).strip()
    sql = sql.replace("{address_parse}", parse.replace("{address}", "a.address"))
    sql = sql.replace("{registry_parse}", parse.replace("{address}", "street"))
    return sql.replace("{db}", database).replace("{municipalities}", municipality_pattern())


def _literal(moment: datetime) -> str:
    return f"toDateTime64('{moment.strftime('%Y-%m-%d %H:%M:%S.%f')}', 6, 'UTC')"


def read_features(spark: SparkSession, settings: Settings, start: datetime, end: datetime) -> DataFrame:
    """The features of the appeals created in [start, end) (aware datetimes), read in parallel over JDBC."""
    from pyspark.sql import functions as F

    from spark_jobs.clickhouse_io import read_query

    sql = (
        features_sql(settings.clickhouse_database)
        .replace("{start:DateTime64(3, 'UTC')}", _literal(start))
        .replace("{end:DateTime64(3, 'UTC')}", _literal(end))
    )
    sql = sql.strip().rstrip(";")
    frame = read_query(
        spark,
        settings,
        sql,
        partition_column="created_at",
        lower=start,
        upper=end,
        num_partitions=2 * settings.spark_executor_cores,
    )
    return (
        frame.withColumn(
            "h3_ring_cells",
            F.when(F.col("h3_ring").isNotNull(), F.split("h3_ring", ",")).otherwise(F.array().cast("array<string>")),
        )
        .withColumn("text_shingles", F.when(F.col("text_shingles").isNotNull(), F.split("text_shingles", ",")))
        .withColumn("house", F.col("house").cast("double"))
        .drop("h3_ring")
    )
