-- The region's days with their ISO week and month, working days and holidays as cur.sla counts them.
select
    day,
    toMonday(day) as week_start,
    toStartOfMonth(day) as month_start,
    is_working_day,
    day_kind,
    day_reason
from {{ ref('stg_cur__production_calendar') }}
