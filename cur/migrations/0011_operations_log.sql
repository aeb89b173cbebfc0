-- What the operators were told about the pipeline's runs (cur/alerts.py): a run failed, a critical data
-- check held back its publication (gated), or a later run published again (recovered). One row per
-- notice, with whether its mail went out.
CREATE TABLE IF NOT EXISTS {db}.operations_log
(
    at              DateTime64(3, 'UTC'),
    run_id          String,
    dag_id          LowCardinality(String),
    task_id         LowCardinality(String),
    interval_start  Nullable(DateTime64(3, 'UTC')),
    interval_end    Nullable(DateTime64(3, 'UTC')),
    kind            Enum8('failed' = 1, 'gated' = 2, 'recovered' = 3),
    message         String,
    mailed_to       String,
    mail_error      String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (dag_id, at)
