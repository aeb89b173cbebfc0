-- Canonical appeals, landed by the Faust workers. One row per (source, source_id) after merges;
-- `version` decides which copy survives, so a batch written twice leaves no duplicate once merged.
-- Readers that need exact figures read with FINAL (or the Spark-deduplicated table below).
CREATE TABLE IF NOT EXISTS {db}.appeals
(
    appeal_id          UUID,
    source             Enum8('pos' = 1, '112' = 2, 'safe_city' = 3, 'housing' = 4),
    source_id          String,
    created_at         DateTime64(3, 'UTC'),
    sector             LowCardinality(String),
    subcategory        LowCardinality(String),
    municipality_code  LowCardinality(String),
    address            String CODEC(ZSTD(3)),
    lat                Nullable(Float64),
    lon                Nullable(Float64),
    text               String CODEC(ZSTD(3)),
    priority           Enum8('normal' = 1, 'high' = 2, 'emergency' = 3),
    status             LowCardinality(String),
    sla_deadline_at    DateTime64(3, 'UTC'),
    first_response_at  Nullable(DateTime64(3, 'UTC')),
    ingested_at        DateTime64(3, 'UTC'),
    kafka_topic        LowCardinality(String),
    kafka_partition    UInt16,
    kafka_offset       UInt64,
    version            UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY (source, source_id);
