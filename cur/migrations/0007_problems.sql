-- Cross-channel problems (spark_jobs/problems/): which appeals are reports of one real-world problem.

-- One row per appeal: the problem it belongs to, the link that put it there, and whether its problem
-- came back at the same place after an earlier one was resolved. Written by the linkage job one data
-- interval at a time, swapped in atomically (spark_jobs/clickhouse_io.replace_interval), so its
-- partitions are region-local months: a region-local day lies in one. The comparison features kept
-- here (place, parsed address) are what the repeat rule of later runs compares.
CREATE TABLE IF NOT EXISTS {db}.problem_links
(
    appeal_id             UUID,
    source                Enum8('pos' = 1, '112' = 2, 'safe_city' = 3, 'housing' = 4),
    source_id             String,
    created_at            DateTime64(3, 'UTC'),
    problem_id            UUID,      -- the appeal id of the problem's first report: stable as reports join
    match_probability     Nullable(Float64),  -- the best accepted link to another report, NULL when alone
    match_weight          Nullable(Float64),
    is_repeat             Bool,
    repeat_of_problem_id  Nullable(UUID),
    sector                LowCardinality(String),
    subcategory           LowCardinality(String),
    municipality_code     LowCardinality(String),
    lat                   Nullable(Float64),
    lon                   Nullable(Float64),
    h3_cell               String,    -- H3 resolution 9 of the point, '' without one
    street_key            String,    -- the parsed street, '' without one
    house                 Nullable(UInt32),
    run_id                String,
    computed_at           DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(created_at, '{tz}')
ORDER BY (problem_id, source, source_id);

-- One row per problem, derived from its links and its reports' current states, so it is never stale:
-- a late answer or resolution of any report changes its problem at once.
CREATE VIEW IF NOT EXISTS {db}.problems AS
SELECT
    l.problem_id AS problem_id,
    argMin(l.sector, (l.created_at, l.appeal_id)) AS sector,
    argMin(l.subcategory, (l.created_at, l.appeal_id)) AS subcategory,  -- of the first report, as the job says
    argMin(l.municipality_code, (l.created_at, l.appeal_id)) AS municipality_code,
    avgOrNull(l.lat) AS centroid_lat,
    avgOrNull(l.lon) AS centroid_lon,
    if(count(l.lat) = 0, '', h3ToString(geoToH3(avg(l.lat), avg(l.lon), 9))) AS h3_cell,
    argMinIf(l.street_key, l.created_at, l.street_key != '') AS street_key,  -- of the first report with one
    argMinIf(l.house, l.created_at, l.street_key != '') AS house,
    min(l.created_at) AS first_report_at,
    max(l.created_at) AS last_report_at,
    count() AS reports,
    arraySort(groupUniqArray(toString(l.source))) AS channels,
    max(l.is_repeat) AS is_repeat,
    anyIf(l.repeat_of_problem_id, l.is_repeat) AS repeat_of_problem_id,
    multiIf(
        countIf(s.current_status = 'resolved') > 0, 'resolved',
        countIf(s.current_status = 'answered') > 0, 'answered',
        countIf(s.current_status IN ('assigned', 'in_progress', 'returned')) > 0, 'in_progress',
        countIf(s.current_status = 'rejected') = count(), 'rejected',
        'open'
    ) AS current_state,
    minOrNull(r.resolved_at) AS resolved_at
FROM {db}.problem_links AS l
LEFT JOIN {db}.appeal_state AS s ON l.source = s.source AND l.source_id = s.source_id
LEFT JOIN (
    SELECT source, source_id, min(event_at) AS resolved_at
    FROM {db}.appeal_status_events FINAL
    WHERE status = 'resolved'
    GROUP BY source, source_id
) AS r ON l.source = r.source AND l.source_id = r.source_id
GROUP BY l.problem_id
SETTINGS geotoh3_argument_order = 'lat_lon', join_use_nulls = 1;
