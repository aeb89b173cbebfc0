-- The executor of a status event as a structured field, and the current state of every appeal kept
-- up to date incrementally instead of aggregated from every status event on every read.

-- The organisation or service a step names as responsible (cur.schema.StatusEvent.executor): POS
-- `executor`, the management company of a housing-inspection order, the services 112 dispatched, the
-- service a Safe City operator dispatched. Empty when the step names none. Events stored before this
-- migration keep '' (their executor is only in `detail`): a replay or a bulk reload fills it.
ALTER TABLE {db}.appeal_status_events ADD COLUMN IF NOT EXISTS executor LowCardinality(String) DEFAULT '';

-- Per (source, source_id) the partial aggregation states of its status events, fed by the
-- materialized view below on every insert into appeal_status_events and merged in the background.
-- Every state is idempotent under a second insert of the same event (replays, retried batches, the
-- back-fill racing the first inserts, a bulk day loaded again): min, max and argMax of a value that
-- is the same for the same event, and the set of distinct (event_at, status) pairs. Counts are taken
-- from that set (its length), never with count() or sum(), which a duplicate would inflate.
-- Partitioned by the feed: a partition key must be constant per appeal, so that merges can collapse all
-- of an appeal's states into one row. The month of event_at would split every appeal whose life
-- crosses a month end into rows that never merge, and created_at is not in the events (a step may
-- arrive before its appeal). By feed, one feed's state can be rebuilt alone (DROP PARTITION, then the
-- back-fill INSERT below restricted to that feed).
-- The argMax keys are (event_at, lifecycle rank): ties at one instant go to the later step, the rank
-- being the position in cur.schema.STATUSES (the test checks this list against it). The rating and the
-- executor add ingested_at: two copies of one step that differ (a card re-sent with more services) give
-- the latest copy's value, as FINAL on the events table does.
CREATE TABLE IF NOT EXISTS {db}.appeal_state_agg
(
    source             Enum8('pos' = 1, '112' = 2, 'safe_city' = 3, 'housing' = 4),
    source_id          String,
    current_status     AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt8)),
    first_response_at  SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    first_assigned_at  SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    first_resolved_at  SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
    last_resolved_at   SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    last_confirmed_at  SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    last_active_at     SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
    last_event_at      SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_rating        AggregateFunction(argMaxIf, Nullable(UInt8), Tuple(DateTime64(3, 'UTC'), UInt8, DateTime64(3, 'UTC')), UInt8),
    executor           AggregateFunction(argMaxIf, String, Tuple(DateTime64(3, 'UTC'), UInt8, DateTime64(3, 'UTC')), UInt8),
    history            SimpleAggregateFunction(groupUniqArrayArray, Array(Tuple(event_at DateTime64(3, 'UTC'), status String)))
)
ENGINE = AggregatingMergeTree
PARTITION BY source
ORDER BY (source, source_id);

-- Created before the back-fill: events stored between the two are aggregated twice, which changes
-- nothing (see above), and none is missed.
CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.appeal_state_mv TO {db}.appeal_state_agg AS
WITH toUInt8(indexOf(
    ['received', 'moderation', 'assigned', 'in_progress', 'answered', 'returned', 'resolved', 'rejected'],
    status)) AS rank
SELECT
    source,
    source_id,
    argMaxState(CAST(status AS String), (event_at, rank)) AS current_status,
    minIfOrNull(event_at, is_response) AS first_response_at,
    minIfOrNull(event_at, status = 'assigned') AS first_assigned_at,
    minIfOrNull(event_at, status = 'resolved') AS first_resolved_at,
    maxIfOrNull(event_at, status = 'resolved') AS last_resolved_at,
    maxIfOrNull(event_at, status = 'resolved' AND rating IS NOT NULL) AS last_confirmed_at,
    maxIfOrNull(event_at, status NOT IN ('resolved', 'rejected')) AS last_active_at,
    max(event_at) AS last_event_at,
    argMaxIfState(rating, (event_at, rank, ingested_at), rating IS NOT NULL) AS last_rating,
    argMaxIfState(CAST(executor AS String), (event_at, rank, ingested_at), executor != '') AS executor,
    groupUniqArray(CAST((event_at, status), 'Tuple(event_at DateTime64(3, \'UTC\'), status String)')) AS history
FROM {db}.appeal_status_events
GROUP BY source, source_id;

-- The back-fill: the very SELECT of the materialized view (a unit test keeps the two identical), over
-- the events stored so far. Safe to re-run for the same reason.
INSERT INTO {db}.appeal_state_agg
WITH toUInt8(indexOf(
    ['received', 'moderation', 'assigned', 'in_progress', 'answered', 'returned', 'resolved', 'rejected'],
    status)) AS rank
SELECT
    source,
    source_id,
    argMaxState(CAST(status AS String), (event_at, rank)) AS current_status,
    minIfOrNull(event_at, is_response) AS first_response_at,
    minIfOrNull(event_at, status = 'assigned') AS first_assigned_at,
    minIfOrNull(event_at, status = 'resolved') AS first_resolved_at,
    maxIfOrNull(event_at, status = 'resolved') AS last_resolved_at,
    maxIfOrNull(event_at, status = 'resolved' AND rating IS NOT NULL) AS last_confirmed_at,
    maxIfOrNull(event_at, status NOT IN ('resolved', 'rejected')) AS last_active_at,
    max(event_at) AS last_event_at,
    argMaxIfState(rating, (event_at, rank, ingested_at), rating IS NOT NULL) AS last_rating,
    argMaxIfState(CAST(executor AS String), (event_at, rank, ingested_at), executor != '') AS executor,
    groupUniqArray(CAST((event_at, status), 'Tuple(event_at DateTime64(3, \'UTC\'), status String)')) AS history
FROM {db}.appeal_status_events
GROUP BY source, source_id;

-- The current state of each appeal (replaces the view of 0004, which aggregated every event with
-- FINAL on every read), one row per (source, source_id). CREATE OR REPLACE swaps the definition
-- atomically: readers (cur.problems, spark_jobs, dbt) never find the view missing. A reader that
-- filters on source and source_id (or joins on them with the filter pushed down) reads only the
-- index granules of those appeals, so its cost follows the appeals it asks for, not the history.
-- Columns (times UTC, NULL when the step never happened):
--   current_status     latest step by event time, ties by lifecycle order (as 0004)
--   first_response_at  first step that answered the applicant (is_response)
--   first_assigned_at  first assignment to an executor (POS, housing orders, Safe City dispatch)
--   first_resolved_at, last_resolved_at   first and latest resolution
--   last_active_at     latest step that is neither resolved nor rejected: the appeal was reopened
--                      (returned, worked on again) after its first resolution when it is later
--   reopened           last_active_at > first_resolved_at
--   returned_count     distinct returns for rework
--   last_rating        the applicant's latest rating (POS), NULL without one
--   last_confirmed_at  latest resolution that carries the applicant's rating: on POS the applicant
--                      confirms a resolution by rating it (a resolution without a rating is the
--                      portal's own, after the applicant stayed silent)
--   confirmed          the appeal is resolved and its latest resolution was confirmed by the
--                      applicant. NULL for feeds that carry no applicant confirmation (112 cards,
--                      housing inspections and Safe City detections have none): not applicable,
--                      so dbt leaves them out of the share's denominator
--   executor           the executor named by the latest step that names one, '' if none did
--   last_event_at      latest step
--   events             distinct steps (as count() over FINAL in 0004)
--   history            every step as (event_at, status), sorted by time then status, for the time
--                      spent in each status
CREATE OR REPLACE VIEW {db}.appeal_state AS
SELECT
    source,
    source_id,
    current_status,
    first_response_at,
    first_assigned_at,
    first_resolved_at,
    last_resolved_at,
    last_active_at,
    CAST(ifNull(last_active_at > first_resolved_at, false) AS Bool) AS reopened,
    toUInt64(arrayCount(h -> h.status = 'returned', history)) AS returned_count,
    last_rating,
    last_confirmed_at,
    CAST(if(source = 'pos',
        current_status = 'resolved' AND ifNull(last_confirmed_at >= last_resolved_at, false),
        NULL) AS Nullable(Bool)) AS confirmed,
    executor,
    last_event_at,
    toUInt64(length(history)) AS events,
    history
FROM
(
    SELECT
        source,
        source_id,
        argMaxMerge(current_status) AS current_status,
        min(first_response_at) AS first_response_at,
        min(first_assigned_at) AS first_assigned_at,
        min(first_resolved_at) AS first_resolved_at,
        max(last_resolved_at) AS last_resolved_at,
        max(last_active_at) AS last_active_at,
        argMaxIfMerge(last_rating) AS last_rating,
        max(last_confirmed_at) AS last_confirmed_at,
        argMaxIfMerge(executor) AS executor,
        CAST(max(last_event_at) AS DateTime64(3, 'UTC')) AS last_event_at,
        arraySort(groupUniqArrayArray(history)) AS history
    FROM {db}.appeal_state_agg
    GROUP BY source, source_id
);
