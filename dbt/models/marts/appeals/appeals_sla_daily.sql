{{ config(materialized='view') }}

-- Deprecated: the first dashboard's contract, kept as a view over kpi_daily until the Superset assets
-- read kpi_daily itself. Same columns as before, with the corrected first-answer SLA: only appeals
-- from people count, and only those whose answer or deadline has come (kpi_daily.first_answer_due).
select
    report_date as created_date,
    sector,
    any(sector_name_ru) as sector_name_ru,
    municipality_code,
    any(municipality_name_ru) as municipality_name_ru,
    sum(appeals_received) as appeals_total,
    sum(first_answer_met + first_answer_missed) as answered_total,
    sum(first_answer_met) as answered_on_time,
    sum(first_answer_missed) as overdue_total,
    if(sum(first_answer_due) = 0, null, round(100 * sum(first_answer_met) / sum(first_answer_due), 1))
        as sla_compliance_pct
from {{ ref('kpi_daily') }}
group by report_date, sector, municipality_code
