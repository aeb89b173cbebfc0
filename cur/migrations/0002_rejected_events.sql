-- Records that could not become canonical appeals: kept with the raw payload and a reason,
-- so an operator can see them and replay them after a fix. Nothing is dropped silently.
CREATE TABLE IF NOT EXISTS {db}.rejected_events
(
    feed             LowCardinality(String),
    kafka_topic      LowCardinality(String),
    kafka_partition  UInt16,
    kafka_offset     UInt64,
    raw_payload      String CODEC(ZSTD(3)),
    reason           String,
    rejected_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (kafka_topic, kafka_partition, kafka_offset);
