-- Views meant for BI (Superset's read-only user, granted by infra/clickhouse/users.py): what the
-- auditors' dashboard shows of the canonical database, without raw payloads or pseudonyms. They
-- run with their definer's rights (SQL SECURITY DEFINER), so the BI user needs no right on the
-- tables underneath.

-- Rejected records per day, feed and reason, and how many of them are not replayed yet.
DROP VIEW IF EXISTS {db}.bi_rejected_summary;
CREATE VIEW IF NOT EXISTS {db}.bi_rejected_summary
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
    toDate(r.rejected_at, '{tz}') AS rejected_date,
    r.feed AS feed,
    r.reason AS reason,
    count() AS rejected,
    countIf(p.replayed = 0) AS open
FROM {db}.rejected_events AS r FINAL
LEFT JOIN
(
    SELECT DISTINCT kafka_topic, kafka_partition, kafka_offset, toUInt8(1) AS replayed
    FROM {db}.rejected_replays
) AS p USING (kafka_topic, kafka_partition, kafka_offset)
GROUP BY rejected_date, feed, reason;

-- When each layer last changed: the newest record of the stream layer, the newest part written
-- by the Spark jobs and by dbt (a rebuild writes new parts), and how many rows each holds
-- (empty: no time).
DROP VIEW IF EXISTS {db}.bi_layer_freshness;
CREATE VIEW IF NOT EXISTS {db}.bi_layer_freshness
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT layer, layer_order, updated_at, rows
FROM
(
    SELECT 'Потоки: обращения (cur.appeals)' AS layer, toUInt8(1) AS layer_order,
        nullIf(max(ingested_at), toDateTime64(0, 3, 'UTC')) AS updated_at, count() AS rows
    FROM {db}.appeals
    UNION ALL
    SELECT 'Потоки: события статусов (cur.appeal_status_events)', toUInt8(2),
        nullIf(max(ingested_at), toDateTime64(0, 3, 'UTC')), count()
    FROM {db}.appeal_status_events
    UNION ALL
    SELECT 'Потоки: отклонённые записи (cur.rejected_events)', toUInt8(3),
        nullIf(max(rejected_at), toDateTime64(0, 3, 'UTC')), count()
    FROM {db}.rejected_events
    UNION ALL
    SELECT
        concat('Spark: ', if(table = 'appeals_dedup', 'дедупликация (cur.appeals_dedup)',
            'связывание в проблемы (cur.problem_links)')),
        toUInt8(if(table = 'appeals_dedup', 4, 5)),
        toDateTime64(max(modification_time), 3, 'UTC'),
        sum(rows)
    FROM system.parts
    WHERE active AND database = '{db}' AND table IN ('appeals_dedup', 'problem_links')
    GROUP BY table
    UNION ALL
    SELECT concat('Витрины KPI: ', table), toUInt8(6), toDateTime64(max(modification_time), 3, 'UTC'), sum(rows)
    FROM system.parts
    WHERE active AND database = '{analytics}' AND table IN ('fct_appeals', 'kpi_daily', 'kpi_weekly', 'backlog_daily',
        'tension_weekly', 'heatmap_weekly')
    GROUP BY table
);

-- The latest reconciliation of each feed and export day (cur/reconcile.py, migration 0010): sent,
-- received, landed, rejected, filtered and whether they balance.
DROP VIEW IF EXISTS {db}.bi_reconciliation_latest;
CREATE VIEW IF NOT EXISTS {db}.bi_reconciliation_latest
DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT feed, export_day, checked_at, has_control_total, sent, received, landed, rejected, filtered,
    landed_missing, rejected_missing, difference, ok
FROM {db}.reconciliation
ORDER BY checked_at DESC
LIMIT 1 BY feed, export_day;
