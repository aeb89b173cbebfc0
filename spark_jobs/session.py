"""The SparkSession of every job, built from settings, so one job runs unchanged in local mode or on a cluster.

What a session built here guarantees:
- master, executor cores and memory, driver memory from `cur.settings` (`CUR_SPARK_MASTER`, default
  `local[*]`; `CUR_SPARK_EXECUTOR_CORES`, `CUR_SPARK_EXECUTOR_MEMORY`, `CUR_SPARK_DRIVER_MEMORY`);
- every JVM (driver and executors) runs in UTC, and so does Spark SQL: the ClickHouse JDBC driver reads
  and writes `DateTime64` through the JVM's default time zone, so any other zone shifts every time by its
  offset (spark_jobs/clickhouse_io.py refuses a session without it);
- the ClickHouse JDBC driver (`$CUR_SPARK_JARS_DIR`, resolved by infra/install.sh from
  infra/spark/pom.xml) and, with `splink=True`, Splink's Scala similarity functions are on `spark.jars`,
  which Spark ships to the executors itself: nothing is resolved at run time;
- no UI, loopback driver, a checkpoint directory (Splink needs one) and scratch space under the state
  directory.

A job takes its session from `job_session`: its own one, stopped when the job ends; or, inside
`shared_session`, the one Spark application that several jobs share (the DAG's daily task runs the dedup
and the linkage in one: a JVM, a SparkSession and the JDBC driver's classes are loaded once a day, not
once a job: about 20 s of start-up apiece under this machine's load).

Tested by tests/unit/test_dedup_appeals.py (local mode) and tests/e2e/test_spark_jobs.py (local mode
and the standalone cluster of infra/services/spark.sh).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from cur.settings import Settings

UTC_JVM = "-Duser.timezone=UTC"
_shared: SparkSession | None = None  # the session of an open `shared_session`, if any


def clickhouse_jdbc_jars(settings: Settings) -> list[Path]:
    """The ClickHouse JDBC driver and its dependencies, as infra/install.sh resolved them."""
    jars = sorted(settings.spark_jars_dir.glob("*.jar"))
    if not any(jar.name.startswith("clickhouse-jdbc-") for jar in jars):
        raise RuntimeError(
            f"the ClickHouse JDBC driver is not in {settings.spark_jars_dir} (CUR_SPARK_JARS_DIR): run infra/install.sh"
        )
    return jars


def spark_session(settings: Settings, app_name: str, *, splink: bool = False) -> SparkSession:
    """A SparkSession on `settings.spark_master` with the ClickHouse JDBC driver (and Splink's jar if asked).

    In one Python process the first session wins: Spark keeps its static settings (master, jars,
    memory) until `stop()`, so a job stops its session when it is done.
    """
    # The JVM binds its block manager and RPC to this address (the machine's name may not resolve).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    jars = [str(jar) for jar in clickhouse_jdbc_jars(settings)]
    if splink:
        from splink.backends.spark import similarity_jar_location

        jars.append(str(similarity_jar_location()))
    spark_dir = settings.state_dir / "spark"
    scratch, checkpoints = spark_dir / "local", spark_dir / "checkpoints"
    scratch.mkdir(parents=True, exist_ok=True)
    checkpoints.mkdir(parents=True, exist_ok=True)
    cores = settings.spark_executor_cores
    spark = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.jars", ",".join(jars))
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.executor.memory", settings.spark_executor_memory)
        .config("spark.executor.cores", str(cores))
        .config("spark.cores.max", str(cores))  # on a standalone cluster: one executor of that size
        .config("spark.driver.extraJavaOptions", UTC_JVM)
        .config("spark.executor.extraJavaOptions", UTC_JVM)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(2 * cores))  # adaptive execution coalesces small ones
        .config("spark.local.dir", str(scratch))
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    spark.sparkContext.setCheckpointDir(str(checkpoints))
    return spark


@contextmanager
def job_session(settings: Settings, app_name: str, *, splink: bool = False) -> Iterator[SparkSession]:
    """The session of one job: inside `shared_session` the shared one, left running for the next job;
    otherwise a session of its own, stopped when the job is done (or fails)."""
    if _shared is not None:
        yield _shared
        return
    spark = spark_session(settings, app_name, splink=splink)
    try:
        yield spark
    finally:
        spark.stop()


@contextmanager
def shared_session(settings: Settings, app_name: str) -> Iterator[SparkSession]:
    """One Spark application for the jobs run inside it (with Splink's jar, so any job can use it):
    each `job_session` in the block gets this session, which is stopped when the block ends."""
    global _shared
    if _shared is not None:
        raise RuntimeError("a shared Spark session is already open in this process")
    spark = spark_session(settings, app_name, splink=True)
    _shared = spark
    try:
        yield spark
    finally:
        _shared = None
        spark.stop()
