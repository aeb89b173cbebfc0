{#- A table rebuilt whole from fct_appeals on every run, not an incremental model: the backlog at the
    end of a day counts appeals created on any earlier day, so rebuilding only the run's days would
    depend on which older days had been built, and in what order. Only appeals open at some day end are
    expanded, one row per day they stayed open, so the cost follows the backlog, not the history. -#}
{{
    config(
        materialized='table',
        engine='MergeTree()',
        partition_by='toYYYYMM(snapshot_date)',
        order_by=['snapshot_date', 'ministry_code', 'municipality_code', 'sector', 'subcategory', 'source', 'executor'],
    )
}}

-- What was still waiting for the authority at the end of each regional day (or at as_of, for the day
-- in progress), per the dimensions of kpi_daily: the open backlog, and the part of it past its
-- deadline with its age. A stock, not a flow: a week's backlog is its Sunday's row, never a sum of days.
with

candidates as (

    -- open at the end of at least one day: not closed on the day it was created
    select * from {{ ref('fct_appeals') }}
    where current_status != 'rejected'
      and (closed_at is null or toDate(closed_at, {{ region_tz() }}) > created_date)

),

days as (

    select
        *,
        -- the days whose end the appeal was still open at: from its creation day to the day before
        -- the one it was closed on, up to the evaluation day
        arrayJoin(range(
            toUInt32(created_date),
            toUInt32(least(
                if(closed_at is null, toDate(evaluated_at, {{ region_tz() }}) + 1, toDate(closed_at, {{ region_tz() }})),
                toDate(evaluated_at, {{ region_tz() }}) + 1
            ))
        )) as day_number,
        toDate(day_number) as snapshot_date,
        least(toDateTime64(snapshot_date + 1, 3, {{ region_tz() }}), evaluated_at) as snapshot_at
    from candidates

),

open_at_snapshot as (

    -- closed exactly at the day's end counts as closed; created after the snapshot moment is not yet there
    select * from days
    where created_at < snapshot_at and (closed_at is null or closed_at > snapshot_at)

),

final as (

    select
        snapshot_date,
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
        count() as open_backlog,
        countIf(backlog_due_at < snapshot_at) as overdue_backlog,
        sumIf(dateDiff('second', backlog_due_at, snapshot_at) / 3600.0, backlog_due_at < snapshot_at)
            as overdue_age_hours_sum,
        maxIf(dateDiff('second', backlog_due_at, snapshot_at) / 3600.0, backlog_due_at < snapshot_at)
            as overdue_age_hours_max
    from open_at_snapshot
    group by snapshot_date, sector, subcategory, sla_class, municipality_code, ministry_code, executor, source

)

select * from final
