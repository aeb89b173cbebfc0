{#- insert_overwrite by report_date (a partition per day: a month partition would be replaced by the
    window's days alone), for the reasons given in fct_appeals: the run's days and their
    look-back are rebuilt whole from fct_appeals, which the same run has just rebuilt. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        engine='MergeTree()',
        partition_by='report_date',
        order_by=['report_date', 'ministry_code', 'municipality_code', 'sector', 'subcategory', 'source', 'executor'],
    )
}}

-- The KPIs of the appeals created on a regional day, per sector, subcategory, SLA class, municipality,
-- ministry, executor and feed. Every share is a numerator and a denominator: sum both, then divide.
-- Percentiles are aggregate states: merge them at any cut (quantilesExactMerge(0.5, 0.9)(...)).
with

appeals as (

    select * from {{ ref('fct_appeals') }}
    where created_date between {{ window_first_day() }} and {{ window_last_day() }}

),

final as (

    select
        created_date as report_date,
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

        count() as appeals_received,
        countIf(is_signal) as signals_received,
        countIf(problem_id = appeal_id) as problems_new,
        countIf(priority = 'emergency') as emergency_appeals,

        countIf(first_answer_state = 'met') as first_answer_met,
        countIf(first_answer_state = 'missed') as first_answer_missed,
        countIf(first_answer_state in ('met', 'missed')) as first_answer_due,
        countIf(first_answer_state = 'pending') as first_answer_pending,

        countIf(resolution_state = 'met') as resolution_met,
        countIf(resolution_state = 'missed') as resolution_missed,
        countIf(resolution_state in ('met', 'missed')) as resolution_due,
        countIf(resolution_state = 'pending') as resolution_pending,

        countIf(not is_signal) as answerable_appeals,
        countIf(is_returned) as returned_appeals,
        countIf(is_reopened) as reopened_appeals,
        countIf(is_repeat) as repeat_appeals,
        countIf(is_confirmed) as confirmed_appeals,
        countIf(is_confirmed is not null) as confirmable_appeals,
        countIf(rating is not null) as rated_appeals,
        sum(coalesce(rating, 0)) as rating_sum,

        quantilesExactStateIf(0.5, 0.9)(first_answer_minutes, first_answer_minutes is not null)
            as first_answer_minutes_q,
        quantilesExactStateIf(0.5, 0.9)(resolution_hours, resolution_hours is not null) as resolution_hours_q,
        quantilesExactStateIf(0.5, 0.9)(reaction_minutes, reaction_minutes is not null) as reaction_minutes_q,
        max(evaluated_at) as evaluated_at
    from appeals
    group by report_date, sector, subcategory, sla_class, municipality_code, ministry_code, executor, source

)

select * from final
