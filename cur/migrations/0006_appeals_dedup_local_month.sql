-- cur.appeals_dedup partitioned by the region-local month instead of the UTC month. The Spark job
-- (spark_jobs/dedup_appeals.py) replaces one region-local day at a time with ALTER TABLE … REPLACE
-- PARTITION, which is atomic per partition: a local day [21:00 UTC, 21:00 UTC) at a month's end spans
-- two UTC months, but always lies in one local month. The table is derived data: it is recreated empty
-- and the DAG appeals_daily rebuilds it day by day.
DROP TABLE IF EXISTS {db}.appeals_dedup SYNC;
CREATE TABLE IF NOT EXISTS {db}.appeals_dedup AS {db}.appeals
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at, '{tz}')
ORDER BY (source, source_id);
