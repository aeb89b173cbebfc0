-- The region's calendar, one row per day of every year the production calendar covers. Filled from
-- cur/calendar/ru_production_calendar.csv by cur.migrate after the migrations (cur.sla is the one
-- reader of that file and decides what a working day is), so dbt and the quality checks read the same
-- days as the SLA deadlines were computed with. Replaced whole on every migrate.
CREATE TABLE IF NOT EXISTS {db}.production_calendar
(
    day             Date,
    is_working_day  Bool,
    kind            LowCardinality(String),  -- working_day, weekend, holiday, day_off, working_weekend
    reason          String
)
ENGINE = MergeTree
ORDER BY day
