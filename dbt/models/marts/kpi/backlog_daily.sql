{#- insert_overwrite by snapshot_date, one partition per kept day. A run rebuilds the snapshots from the
    first day of its window (its days and look-back) to as_of's day. The stock at those days needs only
    the appeals still open on the window's first day or created since: their opening is counted from
    that day, which gives the same running sums, so the cost follows the open backlog and the window, not
    the history. The snapshots count appeals of any earlier day, so they read fct_appeals as earlier runs
    (or the first full refresh) left it: a run over a day must not precede the build of the days before
    it, which a catch-up or backfill in day order, or the initial full refresh, guarantees. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        engine='MergeTree()',
        partition_by='snapshot_date',
        order_by=['snapshot_date', 'ministry_code', 'municipality_code', 'sector', 'subcategory', 'source', 'executor'],
        query_settings={'enable_materialized_cte': 1},
        on_schema_change='ignore',
    )
}}
{#- on_schema_change 'ignore', not the project's 'fail': dbt-clickhouse checks the columns by running
    `SELECT * FROM (<model>) LIMIT 0`, and ClickHouse computes a MATERIALIZED CTE before any LIMIT, so
    the check ran the model's read of fct_appeals a second time (4-5 s of a 9-10 s run at 10 M appeals).
    A changed column list still fails the run: REPLACE PARTITION refuses a table of another structure. -#}
{#- `as_of` and `spans` are MATERIALIZED: each is read several times below (the spans, the deltas, the
    oldest appeal, the scalar bounds), and an ordinary CTE is inlined at every reference, so each
    reference scanned fct_appeals again (at 10 M appeals: 50 M rows read for one run, 9.9 s -> 4.5 s).
    MATERIALIZED CTEs need ClickHouse 26.x (the engine of infra/clickhouse); an older server rejects them. -#}

-- What was still waiting for the authority at the end of each regional day (or at as_of, for the day
-- in progress), per the dimensions of kpi_daily: the open backlog, and the part of it past its
-- deadline with its age. A stock, not a flow: a week's backlog is its Sunday's row, never a sum of days.
-- Kept for every day of the last var backlog_daily_days (62) days, and before them for every Sunday and
-- every month's last day (the week and month ends that trends and reports read): a row per group and
-- day for years of history would be most of the table's size and build time for figures nobody reads.
--
-- An appeal is open at the end of day D when it was created by then and not closed by then
-- (fct_appeals.closed_at); overdue when, besides, its backlog_due_at has passed. With day numbers:
--   open on     [created_day, closed_day)      closed_day  = the day of closed_at − 1 ms (closed at
--                                                            midnight counts for the day that ended)
--   overdue on  [overdue_day, closed_day)      overdue_day = the day of backlog_due_at (a deadline at
--                                                            midnight counts from the next day), or the
--                                                            day after as_of's day while still ahead
-- open_backlog(D) and overdue_backlog(D) are running sums of +1/−1 at those bounds; the age sum is
-- overdue_backlog(D) × snapshot_at(D) − Σ deadlines, the latter a running sum too (of the spans below).
with

as_of as materialized (

    select
        max(evaluated_at) as evaluated_at,
        toDate(evaluated_at, {{ region_tz() }}) as last_day,
        toUInt32({{ window_first_day() }}) as first_day
    from {{ ref('fct_appeals') }}

),

spans as materialized (

    -- The appeals with the same dimensions and the same days (open from, open until, overdue from) as
    -- one row: their count, the sum of their deadlines and the earliest one. That is all the stock and
    -- the oldest overdue appeal need (of appeals with the same days, only the earliest deadline can be
    -- the oldest), and it is 30 to 1,000 times fewer rows than appeals at 10 M: the appeals still open
    -- before the window, most of those read, all share its first day. Deadlines in integer milliseconds, so the
    -- sums are exact in any order.
    select
        sector, subcategory, sla_class, municipality_code, ministry_code, executor, source,
        open_from, open_until, overdue_from,
        toInt64(count()) as n,
        sum(due_ms) as due_ms_sum,
        min(due_ms) as due_ms_min
    from (
        select
            sector, subcategory, sla_class, municipality_code, ministry_code, executor, source,
            -- an appeal opened before the window counts as opening on its first day
            toUInt32(greatest(created_date, toDate((select first_day from as_of)))) as open_from,
            toUInt32(if(closed_at is null, (select last_day from as_of) + 1,
                toDate(closed_at - toIntervalMillisecond(1), {{ region_tz() }}))) as open_until,
            if(backlog_due_at is null, null,
                toUInt32(greatest(
                    if(backlog_due_at >= (select evaluated_at from as_of), (select last_day from as_of) + 1,
                        toDate(backlog_due_at, {{ region_tz() }})),
                    created_date, toDate((select first_day from as_of))))) as overdue_from,
            toInt64(toUnixTimestamp64Milli(assumeNotNull(backlog_due_at))) as due_ms
        from {{ ref('fct_appeals') }}
        where current_status != 'rejected'
          -- open at the end of the window's first day: closed_at's day (of closed_at - 1 ms) after it, said
          -- as a comparison with the next midnight, which reads closed_at without converting each value
          and (closed_at is null
              or closed_at > toDateTime64(toDate((select first_day from as_of)) + 1, 3, {{ region_tz() }}))
    )
    group by sector, subcategory, sla_class, municipality_code, ministry_code, executor, source,
        open_from, open_until, overdue_from

),

open_spans as (

    select * from spans where open_until > open_from

),

overdue_spans as (

    select * from open_spans where overdue_from is not null and overdue_from < open_until

),

deltas as (

    select
        sector, subcategory, sla_class, municipality_code, ministry_code, executor, source,
        day, sum(d_open) as d_open, sum(d_overdue) as d_overdue, sum(d_due_ms) as d_due_ms
    from (
        select *, open_from as day, n as d_open, toInt64(0) as d_overdue, toInt64(0) as d_due_ms from open_spans
        union all
        select *, open_until as day, -n as d_open, toInt64(0) as d_overdue, toInt64(0) as d_due_ms from open_spans
        union all
        select *, overdue_from as day, toInt64(0) as d_open, n as d_overdue, due_ms_sum as d_due_ms from overdue_spans
        union all
        select *, open_until as day, toInt64(0) as d_open, -n as d_overdue, -due_ms_sum as d_due_ms from overdue_spans
    )
    group by sector, subcategory, sla_class, municipality_code, ministry_code, executor, source, day

),

running as (

    -- the stock after each day with a change, valid until the next change (or past the last day)
    select
        *,
        sum(d_open) over w as open_backlog,
        sum(d_overdue) over w as overdue_backlog,
        sum(d_due_ms) over w as due_sum_ms,
        leadInFrame(day, 1, toUInt32((select last_day from as_of) + 1)) over (
            partition by sector, subcategory, sla_class, municipality_code, ministry_code, executor, source
            order by day rows between current row and 1 following
        ) as next_day
    from deltas
    window w as (
        partition by sector, subcategory, sla_class, municipality_code, ministry_code, executor, source
        order by day rows between unbounded preceding and current row
    )

),

stock as (

    select
        * except (day, next_day),
        toDate(arrayJoin(arrayFilter(d -> {{ kept_snapshot('d') }},
            range(day, least(next_day, toUInt32((select last_day from as_of) + 1)))))) as snapshot_date
    from running
    where open_backlog > 0

),

oldest as (

    -- The oldest overdue appeal of each day. In deadline order, an appeal is the oldest still open on the
    -- days from its own overdue_from (or from when every earlier-due appeal had closed, if later) to its
    -- close: one span per row of spans (its earliest deadline); the spans of a group never overlap, so
    -- they add up to its days.
    select
        sector, subcategory, sla_class, municipality_code, ministry_code, executor, source,
        toDate(arrayJoin(arrayFilter(d -> {{ kept_snapshot('d') }},
            range(greatest(overdue_from, coalesce(earlier_until, 0)), open_until)))) as snapshot_date,
        due_ms_min as oldest_due_ms
    from (
        select
            *,
            max(open_until) over (
                partition by sector, subcategory, sla_class, municipality_code, ministry_code, executor, source
                order by due_ms_min, open_until rows between unbounded preceding and 1 preceding
            ) as earlier_until
        from overdue_spans
    )
    where greatest(overdue_from, coalesce(earlier_until, 0)) < open_until

),

final as (

    select
        stock.snapshot_date as snapshot_date,
        stock.sector as sector,
        coalesce(names.sector_name_ru, '') as sector_name_ru,
        stock.subcategory as subcategory,
        coalesce(names.subcategory_name_ru, '') as subcategory_name_ru,
        stock.sla_class as sla_class,
        stock.municipality_code as municipality_code,
        coalesce(municipalities.municipality_name_ru, '') as municipality_name_ru,
        stock.ministry_code as ministry_code,
        coalesce(authorities.authority_name_ru, '') as ministry_name_ru,
        stock.executor as executor,
        stock.source as source,
        toUInt64(stock.open_backlog) as open_backlog,
        toUInt64(stock.overdue_backlog) as overdue_backlog,
        -- the day's snapshot moment: its end, or as_of for the day in progress
        toInt128(toUnixTimestamp64Milli(least(toDateTime64(stock.snapshot_date + 1, 3, {{ region_tz() }}),
            (select evaluated_at from as_of)))) as snapshot_ms,
        round((stock.overdue_backlog * snapshot_ms - stock.due_sum_ms) / 3600000.0, 6) as overdue_age_hours_sum,
        if(stock.overdue_backlog = 0, 0, round((snapshot_ms - oldest.oldest_due_ms) / 3600000.0, 6))
            as overdue_age_hours_max
    from stock
    left join oldest
        on stock.snapshot_date = oldest.snapshot_date
        and stock.sector = oldest.sector
        and stock.subcategory = oldest.subcategory
        and stock.sla_class = oldest.sla_class
        and stock.municipality_code = oldest.municipality_code
        and stock.ministry_code = oldest.ministry_code
        and stock.executor = oldest.executor
        and stock.source = oldest.source
    -- the names are joined last, from the small reference tables, so the running sums carry codes only
    left join {{ ref('int_taxonomy__responsibility') }} as names on stock.subcategory = names.subcategory_code
    left join {{ ref('municipalities') }} as municipalities on stock.municipality_code = municipalities.municipality_code
    left join {{ ref('authorities') }} as authorities on stock.ministry_code = authorities.authority_code

)

select * except (snapshot_ms) from final
