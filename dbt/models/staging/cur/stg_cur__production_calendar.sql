-- The region's days, as cur.sla counts them.
select
    day,
    is_working_day,
    kind as day_kind,
    reason as day_reason
from {{ source('cur', 'production_calendar') }}
