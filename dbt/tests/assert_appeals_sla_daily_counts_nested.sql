-- The KPI's counts nest: on time ≤ answered ≤ total, overdue ≤ total, and every appeal is either
-- answered on time, overdue, or still open within its deadline. Rows returned are failures.
select *
from {{ ref('appeals_sla_daily') }}
where not (
    answered_on_time <= answered_total
    and answered_total <= appeals_total
    and overdue_total <= appeals_total
    and answered_on_time + overdue_total <= appeals_total
    and appeals_total > 0
)
