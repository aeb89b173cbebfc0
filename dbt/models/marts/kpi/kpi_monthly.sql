{{ config(materialized='view') }}

-- kpi_daily summed per calendar month of creation: the same additive measures and mergeable percentiles.
select
    toStartOfMonth(report_date) as period_start,
    sector,
    any(sector_name_ru) as sector_name_ru,
    subcategory,
    any(subcategory_name_ru) as subcategory_name_ru,
    sla_class,
    municipality_code,
    any(municipality_name_ru) as municipality_name_ru,
    ministry_code,
    any(ministry_name_ru) as ministry_name_ru,
    executor,
    source,
    {%- for measure in kpi_measures() %}
    sum({{ measure }}) as {{ measure }},
    {%- endfor %}
    quantilesExactMergeState(0.5, 0.9)(first_answer_minutes_q) as first_answer_minutes_q,
    quantilesExactMergeState(0.5, 0.9)(resolution_hours_q) as resolution_hours_q,
    quantilesExactMergeState(0.5, 0.9)(reaction_minutes_q) as reaction_minutes_q,
    max(evaluated_at) as evaluated_at
from {{ ref('kpi_daily') }}
group by period_start, sector, subcategory, sla_class, municipality_code, ministry_code, executor, source
