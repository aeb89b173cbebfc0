-- Status history, idempotent batch inserts, stream metrics and replays of rejected records.

-- New canonical columns (cur.schema.Appeal): the fix or 59-FZ deadline, the applicant's pseudonym.
ALTER TABLE {db}.appeals
    ADD COLUMN IF NOT EXISTS resolve_by Nullable(DateTime64(3, 'UTC')),
    ADD COLUMN IF NOT EXISTS applicant_pseudonym String DEFAULT '';
ALTER TABLE {db}.appeals_dedup
    ADD COLUMN IF NOT EXISTS resolve_by Nullable(DateTime64(3, 'UTC')),
    ADD COLUMN IF NOT EXISTS applicant_pseudonym String DEFAULT '';

-- The sink tags every insert with a token built from topic, partition and offset range: a batch
-- sent again (an insert that timed out but had landed) is dropped by ClickHouse. Non-replicated
-- tables only remember tokens when this window is set. `IF NOT EXISTS` does not apply to
-- settings; setting the same value again changes nothing.
ALTER TABLE {db}.appeals MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {db}.rejected_events MODIFY SETTING non_replicated_deduplication_window = 10000;

-- Every lifecycle step of every appeal (cur.schema.StatusEvent). The same step reported twice
-- (a replay) has the same key and collapses; steps that arrive late or out of order simply land.
CREATE TABLE IF NOT EXISTS {db}.appeal_status_events
(
    appeal_id          UUID,
    source             Enum8('pos' = 1, '112' = 2, 'safe_city' = 3, 'housing' = 4),
    source_id          String,
    status             LowCardinality(String),
    event_at           DateTime64(3, 'UTC'),
    is_response        Bool,
    rating             Nullable(UInt8),
    detail             String CODEC(ZSTD(3)),
    ingested_at        DateTime64(3, 'UTC'),
    kafka_topic        LowCardinality(String),
    kafka_partition    UInt16,
    kafka_offset       UInt64
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(event_at)
ORDER BY (source, source_id, event_at, status)
SETTINGS non_replicated_deduplication_window = 10000;

-- The current state of each appeal, derived from its events: the latest step by event time (ties
-- by lifecycle order, as in cur.schema.STATUSES), the first answer, the last rating, how often the
-- applicant returned it for rework. The one place this rule lives; Spark and dbt read it.
CREATE VIEW IF NOT EXISTS {db}.appeal_state AS
SELECT
    source,
    source_id,
    argMax(status, (event_at, indexOf(
        ['received', 'moderation', 'assigned', 'in_progress', 'answered', 'returned', 'resolved', 'rejected'],
        status))) AS current_status,
    minIfOrNull(event_at, is_response) AS first_response_at,
    argMaxIf(rating, event_at, rating IS NOT NULL) AS last_rating,
    countIf(status = 'returned') AS returned_count,
    max(event_at) AS last_event_at,
    count() AS events
FROM {db}.appeal_status_events FINAL
GROUP BY source, source_id;

-- One row per batch a stream worker stored: what came in, what went out, how long it took.
CREATE TABLE IF NOT EXISTS {db}.stream_batches
(
    stored_at          DateTime64(3, 'UTC'),
    worker             LowCardinality(String),
    feed               LowCardinality(String),
    events_in          UInt32,
    appeals_out        UInt32,
    status_events_out  UInt32,
    rejected           UInt32,
    unmapped_codes     UInt32,
    batch_ms           Float32,
    max_latency_ms     Float32  -- from the oldest record's Kafka timestamp to stored
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(stored_at)
ORDER BY (feed, stored_at)
TTL toDateTime(stored_at) + INTERVAL 30 DAY;

-- Consumer lag per topic partition, sampled by each worker for the partitions it owns.
CREATE TABLE IF NOT EXISTS {db}.consumer_lag
(
    sampled_at         DateTime64(3, 'UTC'),
    worker             LowCardinality(String),
    consumer_group     LowCardinality(String),
    topic              LowCardinality(String),
    partition          UInt16,
    committed_offset   Int64,
    end_offset         Int64,
    lag                Int64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(sampled_at)
ORDER BY (topic, partition, sampled_at)
TTL toDateTime(sampled_at) + INTERVAL 30 DAY;

-- Each replay of a rejected record (python -m streams.replay_rejected): which record, when, and
-- the offset it got in the raw topic. A rejected record without a replay row is still open.
CREATE TABLE IF NOT EXISTS {db}.rejected_replays
(
    kafka_topic        LowCardinality(String),
    kafka_partition    UInt16,
    kafka_offset       UInt64,
    replayed_at        DateTime64(3, 'UTC'),
    replay_partition   UInt16,
    replay_offset      UInt64,
    operator_note      String
)
ENGINE = MergeTree
ORDER BY (kafka_topic, kafka_partition, kafka_offset, replayed_at);
