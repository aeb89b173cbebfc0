-- Output of the Spark deduplication job (spark_jobs/dedup_appeals.py): one row per appeal,
-- rewritten per data interval by the Airflow DAG. dbt's staging layer reads this table.
CREATE TABLE IF NOT EXISTS {db}.appeals_dedup AS {db}.appeals
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, source_id);
