"""Link the appeals of one data interval into cross-channel problems, and mark repeats (Splink on Spark).

One real-world problem reaches the center many times: cameras film it, people phone 112 and write on
POS, the inspectorate registers it. This job decides which appeals are reports of one problem:

1. **Features** of the appeals created in [start − look-back, end), read from ClickHouse over JDBC
   (features.sql: H3 cell and ring, parsed street and house, 3-grams of a person's text; a report
   without coordinates gets its address's point from the address registry, the stand-in for ГАР).
2. **Pairs** from Splink's Fellegi–Sunter model (settings.json: blocking on sector and H3 ring, or
   on sector, municipality and street, within 7 days, or on subcategory and municipality within 10
   minutes; three comparisons that are close to independent, as the model assumes: the kind
   (subcategory and text), the place (distance and address together) and the time gap), with the
   parameters trained on the labelled training seed (model.json, see train.py).
3. **Clusters**: connected components of the pairs at `match_threshold` (Splink's clustering). A
   component larger than the guard's bounds in space or time is chained, not one problem: it is
   clustered again at each stricter threshold, and what is still too large falls apart into singles.
4. **Problem ids**: a problem is named by the appeal id of its first report (earliest `created_at`,
   then id), so its id stays the same as later reports join it, and a run's output depends only on the
   appeals of its window: runs of the same interval, and backfills in any order, give the same ids.
5. **Repeats**: a problem of the run is a repeat of an earlier problem of
   the same subcategory at the same place that was resolved before it began (within the repeat window;
   linkage.toml). Earlier problems come from `cur.problems` (earlier intervals) and from the problems
   this run writes, so a repeat names a problem that exists.
6. **Output**: one `cur.problem_links` row per appeal of the interval (none is dropped: an appeal
   alone is a problem of one report), swapped in atomically (`replace_interval`): readers see the old
   interval or the new one, never a gap. `cur.problems` derives one row per problem from the links.

    python -m spark_jobs.problems.job --start 2026-11-19T21:00:00Z --end 2026-11-20T21:00:00Z

Tested by tests/e2e/test_problems.py (truth of the generator, idempotence, standalone cluster, kill -9)
and tests/unit/test_problems.py (the configuration, the metrics).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypedDict

from spark_jobs.problems.config import MODEL_PATH, LinkageConfig, load_config, load_model

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from cur.settings import Settings

log = logging.getLogger(__name__)

TARGET_TABLE = "problem_links"
EARTH_M = 6_371_000.0


class ProblemCounts(TypedDict):
    appeals_in_window: int
    appeals_linked: int  # rows written for the interval: every appeal of the interval
    candidate_pairs: int  # pairs at or above the match threshold, over the whole window
    problems: int  # distinct problems of the interval's appeals
    multi_report_problems: int
    repeat_appeals: int
    clusters_split_by_guard: int
    seconds: float


def haversine_m(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Spark SQL: great-circle distance in metres between two points given as column expressions."""
    return (
        f"{2 * EARTH_M} * asin(sqrt(pow(sin(radians({lat2} - {lat1}) / 2), 2)"
        f" + cos(radians({lat1})) * cos(radians({lat2})) * pow(sin(radians({lon2} - {lon1}) / 2), 2)))"
    )


def guarded_clusters(
    spark: SparkSession, nodes: DataFrame, edges: DataFrame, config: LinkageConfig
) -> tuple[DataFrame, int]:
    """(unique_id, cluster_id) for every node, no cluster beyond the guard's bounds; and how many were split.

    Each round clusters the nodes still unsettled with Splink's connected components at the round's
    threshold; clusters within bounds settle, the others go to the next, stricter round.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from splink import SparkAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    db_api = SparkAPI(spark_session=spark)
    settled: list[DataFrame] = []
    split = 0
    # Each round's inputs are materialized: Splink reads its node and edge tables several times, and
    # unmaterialized they would recompute every earlier round (a later round took longer than the first).
    # The nodes left for the next round are checkpointed, which also cuts their plan: a persisted plan
    # still grows by every round, and at the fourth Spark ran out of heap printing it.
    keep = StorageLevel.MEMORY_AND_DISK
    pending = nodes.select("unique_id", "created_s", "lat", "lon").persist(keep)
    for threshold in (config.match_threshold, *config.stricter_thresholds):
        ids = pending.select("unique_id")
        round_edges = (
            edges.where(F.col("match_probability") >= threshold)
            .join(ids.withColumnRenamed("unique_id", "unique_id_l"), "unique_id_l")
            .join(ids.withColumnRenamed("unique_id", "unique_id_r"), "unique_id_r")
            .select("unique_id_l", "unique_id_r")
            .persist(keep)
        )
        clusters = cluster_pairwise_predictions_at_threshold(ids, round_edges, db_api, "unique_id").as_spark_dataframe()
        members = clusters.select("unique_id", "cluster_id").join(pending, "unique_id").persist(keep)
        extents = members.groupBy("cluster_id").agg(
            (F.max("created_s") - F.min("created_s")).alias("span_s"),
            F.expr(haversine_m("min(lat)", "min(lon)", "max(lat)", "max(lon)")).alias("extent_m"),
            F.count("*").alias("size"),
        )
        too_big = (
            extents.where(
                (F.col("span_s") > config.max_span_days * 86400)
                | (F.coalesce(F.col("extent_m"), F.lit(0)) > config.max_extent_m)
            )
            .select("cluster_id")
            .persist(keep)
        )
        beyond = too_big.count()
        split += beyond
        log.info("clustered at %s: %d clusters beyond the guard's bounds", threshold, beyond)
        settled.append(members.join(too_big, "cluster_id", "left_anti").select("unique_id", "cluster_id"))
        pending = members.join(too_big, "cluster_id", "left_semi").select("unique_id", "created_s", "lat", "lon")
        if not beyond:
            break
        pending = pending.checkpoint(eager=True)
    # What no threshold could keep within bounds: each report its own problem.
    settled.append(pending.select("unique_id", F.col("unique_id").alias("cluster_id")))
    result = settled[0]
    for frame in settled[1:]:
        result = result.unionByName(frame)
    return result, split


def find_repeats(problems: DataFrame, earlier: DataFrame, config: LinkageConfig) -> DataFrame:
    """(problem_id, repeat_of_problem_id) for the problems of `problems` that are repeats.

    A run judges the problems of its interval's appeals, also one whose first report came before the
    interval, so that all its reports carry the same mark whichever run wrote them.

    `problems` and `earlier` have problem_id, subcategory, municipality_code, lat, lon, street_key,
    house, first_report_at, resolved_at (earlier problems only need a resolution to qualify).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    new = problems.alias("n")
    old = earlier.where(F.col("resolved_at").isNotNull()).alias("o")
    window_s = config.repeat_window_days * 86400
    min_gap_s = max(config.repeat_min_gap_days * 86400, 1)
    distance = F.expr(haversine_m("n.lat", "n.lon", "o.lat", "o.lon"))  # NULL when either has no point
    # The same house is one place unless both problems have points that say otherwise (a street name
    # that recurs in a municipality, a misread house number): the address decides only where no point does.
    same_place = (distance <= config.repeat_max_distance_m) | (
        (F.col("n.municipality_code") == F.col("o.municipality_code"))
        & (F.col("n.street_key") == F.col("o.street_key"))
        & (F.abs(F.col("n.house") - F.col("o.house")) <= config.repeat_max_house_gap)
        & F.coalesce(distance <= config.repeat_max_point_gap_m, F.lit(True))
    )
    pairs = new.join(
        old,
        (F.col("n.subcategory") == F.col("o.subcategory"))
        & (F.col("n.problem_id") != F.col("o.problem_id"))
        & (F.col("n.first_report_at").cast("double") - F.col("o.resolved_at").cast("double") >= min_gap_s)
        & (F.col("n.first_report_at").cast("double") - F.col("o.resolved_at").cast("double") <= window_s)
        & F.coalesce(same_place, F.lit(False)),
    )
    latest = Window.partitionBy("n.problem_id").orderBy(F.col("o.resolved_at").desc(), F.col("o.problem_id"))
    return (
        pairs.select(
            F.col("n.problem_id").alias("problem_id"),
            F.col("o.problem_id").alias("repeat_of_problem_id"),
            F.row_number().over(latest).alias("rank"),
        )
        .where("rank = 1")
        .drop("rank")
    )


def problem_summaries(members: DataFrame) -> DataFrame:
    """One row per problem of `members` (features with problem_id): what the repeat rule compares."""
    from pyspark.sql import functions as F

    first = F.struct("created_s", "unique_id")  # the first report names the problem and gives its kind
    first_with_street = F.min_by(
        F.struct("street_key", "house"), F.when(F.col("street_key").isNotNull(), F.col("created_s"))
    )
    return members.groupBy("problem_id").agg(
        F.min_by("subcategory", first).alias("subcategory"),
        F.min_by("municipality_code", first).alias("municipality_code"),
        F.avg("lat").alias("lat"),
        F.avg("lon").alias("lon"),
        first_with_street.getField("street_key").alias("street_key"),
        first_with_street.getField("house").alias("house"),
        F.min("created_at").alias("first_report_at"),
        F.max("resolved_at").alias("resolved_at"),  # the latest resolution of any of its reports
    )


def _stored_problems(spark: SparkSession, settings: Settings, since: datetime, until: datetime) -> DataFrame:
    """Problems of earlier runs last resolved in [since, until): candidates for the repeat rule.

    Their latest resolution, as this run's problems have it (`cur.problems` shows the first)."""
    from pyspark.sql import functions as F

    from spark_jobs.clickhouse_io import read_query, utc_interval

    db = settings.clickhouse_database
    sql = (
        "SELECT toString(p.problem_id) AS problem_id, p.subcategory AS subcategory,"
        " p.municipality_code AS municipality_code, p.centroid_lat AS lat, p.centroid_lon AS lon,"
        " nullIf(p.street_key, '') AS street_key, toFloat64(p.house) AS house,"
        " p.first_report_at AS first_report_at, r.resolved_at AS resolved_at"
        f" FROM {db}.problems AS p INNER JOIN ("
        "   SELECT l.problem_id AS problem_id, max(s.last_resolved_at) AS resolved_at"
        f"  FROM {db}.problem_links AS l"
        f"  INNER JOIN {db}.appeal_state AS s ON l.source = s.source AND l.source_id = s.source_id"
        f"  GROUP BY l.problem_id HAVING {utc_interval('resolved_at', since, until)}"
        " ) AS r ON p.problem_id = r.problem_id"
    )
    frame = read_query(
        spark, settings, sql, partition_column="first_report_at", lower=since, upper=until, num_partitions=1
    )
    return frame.withColumn("house", F.col("house").cast("double"))


def link(
    spark: SparkSession, settings: Settings, config: LinkageConfig, start: datetime, end: datetime, run_id: str
) -> tuple[DataFrame, ProblemCounts]:
    """The `problem_links` rows of the appeals created in [start, end), and the run's counts."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from splink import Linker, SparkAPI

    from spark_jobs.problems.features import read_features

    began = time.monotonic()
    window_start = start - timedelta(days=config.lookback_days)
    features = read_features(spark, settings, window_start, end).persist(StorageLevel.MEMORY_AND_DISK)
    in_window = features.count()
    log.info(
        "%d appeals in the window [%s, %s), read in %.1f s",
        in_window,
        window_start.isoformat(),
        end.isoformat(),
        time.monotonic() - began,
    )

    linker = Linker(SparkAPI(spark_session=spark).register(features), load_model(), log_level=logging.WARNING)
    edges = (
        linker.inference.predict(threshold_match_probability=config.match_threshold, warning_mode="never")
        .as_spark_dataframe()
        .select("unique_id_l", "unique_id_r", "match_probability", "match_weight")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    candidate_pairs = edges.count()
    log.info("%d pairs at or above %.4f (%.1f s)", candidate_pairs, config.match_threshold, time.monotonic() - began)

    clusters, split = guarded_clusters(spark, features, edges, config)
    first = F.min_by("unique_id", F.struct("created_s", "unique_id"))
    members = (
        features.join(clusters, "unique_id")
        .withColumn("problem_id", first.over(_by("cluster_id")))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    # The best accepted link of each appeal inside its final problem.
    both_sides = edges.select(
        F.col("unique_id_l").alias("unique_id"),
        F.col("unique_id_r").alias("other"),
        "match_probability",
        "match_weight",
    ).unionByName(
        edges.select(
            F.col("unique_id_r").alias("unique_id"),
            F.col("unique_id_l").alias("other"),
            "match_probability",
            "match_weight",
        )
    )
    problem_of = members.select("unique_id", "problem_id")
    best = (
        both_sides.join(problem_of, "unique_id")
        .join(problem_of.select(F.col("unique_id").alias("other"), F.col("problem_id").alias("other_problem")), "other")
        .where(F.col("problem_id") == F.col("other_problem"))
        .groupBy("unique_id")
        .agg(F.max("match_probability").alias("match_probability"), F.max("match_weight").alias("match_weight"))
    )

    summaries = problem_summaries(members).persist(StorageLevel.MEMORY_AND_DISK)
    repeat_since = window_start - timedelta(days=config.repeat_window_days)
    # Only the problems of the interval's appeals are written, so only they are judged: the rule's join
    # pairs each judged problem with every earlier one of its subcategory (quadratic in the window's).
    interval = (F.col("created_at") >= F.lit(start)) & (F.col("created_at") < F.lit(end))
    judged = summaries.join(members.where(interval).select("problem_id").distinct(), "problem_id", "left_semi")
    # Earlier problems: as stored by earlier runs (all their reports), and the others this run writes. A
    # problem of the look-back alone comes only from the stored ones: the window may have cut it from its
    # first reports, and this run's version of it would carry an id that no stored problem has.
    stored = _stored_problems(spark, settings, repeat_since, end)
    earlier = stored.unionByName(judged.join(stored.select("problem_id"), "problem_id", "left_anti"))
    repeats = find_repeats(judged, earlier, config)

    computed_at = datetime.now(UTC)
    rows = (
        members.where(interval)
        .join(best, "unique_id", "left")
        .join(repeats, "problem_id", "left")
        .select(
            F.col("unique_id").alias("appeal_id"),
            "source",
            "source_id",
            "created_at",
            "problem_id",
            "match_probability",
            "match_weight",
            F.col("repeat_of_problem_id").isNotNull().alias("is_repeat"),
            "repeat_of_problem_id",
            "sector",
            "subcategory",
            "municipality_code",
            "lat",
            "lon",
            F.coalesce("h3_cell", F.lit("")).alias("h3_cell"),
            F.coalesce("street_key", F.lit("")).alias("street_key"),
            F.col("house").cast("long").alias("house"),
            F.lit(run_id).alias("run_id"),
            F.lit(computed_at).alias("computed_at"),
        )
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    stats = rows.agg(
        F.count("*"),
        F.countDistinct("problem_id"),
        F.sum(F.col("is_repeat").cast("int")),
    ).first()
    sizes = rows.groupBy("problem_id").count().where("count > 1").count()
    log.info("%d rows, %d problems (%.1f s)", stats[0], stats[1], time.monotonic() - began)
    counts = ProblemCounts(
        appeals_in_window=in_window,
        appeals_linked=stats[0],
        candidate_pairs=candidate_pairs,
        problems=stats[1],
        multi_report_problems=sizes,
        repeat_appeals=int(stats[2] or 0),
        clusters_split_by_guard=split,
        seconds=round(time.monotonic() - began, 1),
    )
    return rows, counts


def _by(column: str):
    from pyspark.sql import Window

    return Window.partitionBy(column)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone: pass an aware datetime")
    return moment.astimezone(UTC)


def run(settings: Settings, start: datetime, end: datetime, *, config: LinkageConfig | None = None) -> ProblemCounts:
    """Replace the links of the appeals created in [start, end) in `cur.problem_links`, atomically.

    A backfill may pass an interval of several region-local months; it is then replaced one month
    (partition) at a time, each atomically. A daily interval lies in one partition.
    """
    from cur.clickhouse import native_client
    from spark_jobs.clickhouse_io import append, replace_interval, utc_interval
    from spark_jobs.session import job_session

    start, end = _utc(start), _utc(end)
    if start >= end:
        raise ValueError(f"empty interval [{start}, {end})")
    config = config or load_config()
    load_model()  # a missing or stale model fails before Spark starts
    target = f"{settings.clickhouse_database}.{TARGET_TABLE}"
    run_id = uuid.uuid4().hex
    log.info("linking problems of [%s, %s) into %s (run %s)", start.isoformat(), end.isoformat(), target, run_id)
    client = native_client(settings)
    try:
        with job_session(settings, "link_problems", splink=True) as spark:
            rows, counts = link(spark, settings, config, start, end, run_id)

            def write(staging: str) -> int:
                append(rows, settings, staging, client=client)
                return counts["appeals_linked"]

            several_months = (end - start) > timedelta(days=1)
            replace_interval(
                client, target, utc_interval("created_at", start, end), write, several_partitions=several_months
            )
    finally:
        client.disconnect()
    log.info("done: %s", counts)
    return counts


def main(argv: list[str] | None = None) -> None:
    from spark_jobs.cli import run_interval_job

    run_interval_job(__doc__.splitlines()[0], run, argv)


if __name__ == "__main__":
    main()

__all__ = ["MODEL_PATH", "ProblemCounts", "run"]
