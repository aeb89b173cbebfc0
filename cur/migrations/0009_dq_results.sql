-- Every expectation result of every Great Expectations checkpoint run (expectations/results_action.py):
-- what auditors query to see whether a day's data was complete and valid, what failed and when.
-- One row per run id, checkpoint, suite and expectation: a run written again (a retried task with the
-- same run id) replaces its rows, so read with FINAL. Kept without a TTL: it is an audit trail.
CREATE TABLE IF NOT EXISTS {db}.dq_results
(
    run_id              String,
    run_at              DateTime64(3, 'UTC'),
    checkpoint          LowCardinality(String),
    suite               LowCardinality(String),
    layer               LowCardinality(String),
    expectation_id      String,
    expectation_type    LowCardinality(String),
    expectation_kwargs  String,      -- JSON, as in the committed suite
    column_name         String,      -- the column(s) it checks, '' for a table expectation
    interval_start      Nullable(DateTime64(3, 'UTC')),
    interval_end        Nullable(DateTime64(3, 'UTC')),
    severity            LowCardinality(String),  -- critical: blocks publication, warning: recorded
    success             Bool,
    observed_value      String,      -- JSON
    element_count       Nullable(UInt64),
    unexpected_count    Nullable(UInt64),
    unexpected_percent  Nullable(Float64),
    unexpected_examples String,      -- JSON, a few values that failed
    exception_message   String,      -- the expectation could not be evaluated
    written_at          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(written_at)
PARTITION BY toYYYYMM(run_at)
ORDER BY (run_id, checkpoint, suite, expectation_id);

-- The latest result of each expectation (by suite and expectation id), for the data-quality dashboard:
-- a definer view, as the other views meant for BI, so a reader needs no right on the table.
CREATE VIEW IF NOT EXISTS {db}.bi_dq_latest
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT * EXCEPT (written_at)
FROM {db}.dq_results FINAL
ORDER BY run_at DESC, written_at DESC
LIMIT 1 BY suite, expectation_id
