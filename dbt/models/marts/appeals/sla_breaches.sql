{#- A table, incremental like fct_appeals (the same days and look-back, insert_overwrite by day), sorted
    for the dashboards' and reports' lists of one ministry or municipality: as a view it read every
    appeal's row on each load of a list. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        engine='MergeTree()',
        partition_by='created_date',
        order_by=['ministry_code', 'municipality_code', 'created_at', 'appeal_id', 'breach_kind'],
    )
}}

-- The appeals whose first answer or resolution deadline was missed, one row per breach, with its age.
with

appeals as (

    select * from {{ ref('fct_appeals') }}
    where (first_answer_state = 'missed' or resolution_state = 'missed')
      and created_date between {{ window_first_day() }} and {{ window_last_day() }}

),

breaches as (

    select
        appeal_id, source, source_id, ministry_code, ministry_name_ru, municipality_code, municipality_name_ru,
        sector, sector_name_ru, subcategory, subcategory_name_ru, executor, created_at, created_date,
        'first_answer' as breach_kind, first_answer_due_at as due_at, first_answer_at as done_at,
        current_status, is_open, evaluated_at
    from appeals
    where first_answer_state = 'missed'

    union all

    select
        appeal_id, source, source_id, ministry_code, ministry_name_ru, municipality_code, municipality_name_ru,
        sector, sector_name_ru, subcategory, subcategory_name_ru, executor, created_at, created_date,
        'resolution' as breach_kind, assumeNotNull(resolve_by) as due_at, resolved_at as done_at,
        current_status, is_open, evaluated_at
    from appeals
    where resolution_state = 'missed'

)

select
    *,
    -- hours since the deadline: to its late completion, or to the evaluation moment while still not done
    round(dateDiff('second', due_at, coalesce(done_at, evaluated_at)) / 3600.0, 1) as overdue_hours,
    round(dateDiff('second', created_at, evaluated_at) / 3600.0, 1) as age_hours
from breaches
