-- Daily reconciliation per feed: what each source says it sent, what became of every raw record,
-- and the checked counts per stage (cur/reconcile.py).

-- The exporters' control totals: one per feed and export day (the day whose appeals the records
-- describe), cumulative, so a later one for the same day replaces the earlier (by sent_at).
CREATE TABLE IF NOT EXISTS {db}.feed_control_totals
(
    feed             LowCardinality(String),
    export_day       Date,
    records          UInt32,
    by_kind          Map(LowCardinality(String), UInt32),
    sent_at          DateTime64(3, 'UTC'),
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt16,
    kafka_offset     UInt64,
    ingested_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sent_at)
ORDER BY (feed, export_day);

-- What the worker made of each raw record it stored: landed (its canonical keys), rejected, filtered,
-- or a control total. One row per Kafka record (a record taken again after a crash collapses by its
-- offset), so the counts per stage are exact where the canonical tables collapse copies by key.
-- export_day comes from the record's export-day header: 1970-01-01 when it had none (a replay of a
-- rejected record, a record sent by another tool), which no reconciliation counts.
CREATE TABLE IF NOT EXISTS {db}.record_outcomes
(
    feed             LowCardinality(String),
    export_day       Date,
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt16,
    kafka_offset     UInt64,
    outcome          Enum8('landed' = 1, 'rejected' = 2, 'filtered' = 3, 'control' = 4),
    source_id        String,
    has_appeal       Bool,
    events           Array(Tuple(event_at DateTime64(3, 'UTC'), status LowCardinality(String))),
    stored_at        DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(export_day)
ORDER BY (kafka_topic, kafka_partition, kafka_offset)
SETTINGS non_replicated_deduplication_window = 10000;

-- Every reconciliation of a feed and day: the stored counts per stage and whether they balance
-- (sent = landed + rejected + filtered). Kept: an auditor sees what was checked and when.
CREATE TABLE IF NOT EXISTS {db}.reconciliation
(
    run_id             String,
    feed               LowCardinality(String),
    export_day         Date,
    checked_at         DateTime64(3, 'UTC'),
    has_control_total  Bool,
    sent               UInt32,
    received           UInt32,
    landed             UInt32,
    rejected           UInt32,
    filtered           UInt32,
    landed_missing     UInt32,
    rejected_missing   UInt32,
    difference         Int64,
    ok                 Bool,
    detail             String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(export_day)
ORDER BY (export_day, feed, checked_at)
