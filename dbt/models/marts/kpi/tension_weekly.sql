{{ config(materialized='table', engine='MergeTree()', order_by=['week_start', 'municipality_code', 'sector']) }}

-- The tension index of each municipality × sector and ISO week: the "tension points" of the heat map.
-- Rebuilt whole on every run from kpi_daily (weeks × municipalities × sectors: a few thousand rows).
--
--   growth        = (appeals − baseline) / (baseline + 5), baseline = the pair's mean weekly appeals over
--                   the previous 8 weeks (weeks without appeals count as 0); the +5 keeps a pair going
--                   from 1 to 3 appeals from looking like a surge
--   overdue_share = (missed + 10·p) / (due + 10), p = the sector's share in the whole region that week:
--                   a shrinkage estimate, so 1 miss out of 1 does not read as 100 %
--   repeat_share  = (repeats + 10·p) / (appeals + 10), p likewise
--   severity      = (emergency + 10·p) / (appeals + 10), p likewise
--   tension_index = ln(1 + appeals) × (1 + max(growth, 0)) × (1 + overdue_share + repeat_share + severity)
--
-- Volume enters as a logarithm, so a big city does not top every list by size alone; growth only raises
-- the score. Pairs with fewer than var min_tension_appeals (10) appeals that week get no rank.
with

weeks as (

    select distinct week_start from {{ ref('int_calendar__days') }}
    where week_start between (select toMonday(min(report_date)) from {{ ref('kpi_daily') }})
        and (select toMonday(max(report_date)) from {{ ref('kpi_daily') }})

),

pairs as (

    select distinct
        municipality_code, municipality_name_ru, sector_code as sector, sector_name_ru
    from {{ ref('municipalities') }}
    cross join {{ ref('int_taxonomy__responsibility') }}

),

counts as (

    -- summed from kpi_daily by week (kpi_weekly's definition of a week), without merging its
    -- percentile states, which the index does not use
    select
        toMonday(report_date) as week_start,
        municipality_code,
        sector,
        sum(appeals_received) as appeals,
        sum(first_answer_missed + resolution_missed) as missed,
        sum(first_answer_due + resolution_due) as due,
        sum(repeat_appeals) as repeats,
        sum(emergency_appeals) as emergency
    from {{ ref('kpi_daily') }}
    group by week_start, municipality_code, sector

),

grid as (

    select
        weeks.week_start as week_start,
        pairs.municipality_code as municipality_code,
        pairs.municipality_name_ru as municipality_name_ru,
        pairs.sector as sector,
        pairs.sector_name_ru as sector_name_ru,
        coalesce(counts.appeals, 0) as appeals,
        coalesce(counts.missed, 0) as missed,
        coalesce(counts.due, 0) as due,
        coalesce(counts.repeats, 0) as repeats,
        coalesce(counts.emergency, 0) as emergency
    from weeks
    cross join pairs
    left join counts
        on weeks.week_start = counts.week_start
        and pairs.municipality_code = counts.municipality_code
        and pairs.sector = counts.sector

),

regional as (

    select
        week_start,
        sector,
        sum(missed) / greatest(sum(due), 1) as p_overdue,
        sum(repeats) / greatest(sum(appeals), 1) as p_repeat,
        sum(emergency) / greatest(sum(appeals), 1) as p_emergency
    from grid
    group by week_start, sector

),

scored as (

    select
        grid.*,
        -- the first week of the history has no earlier weeks: a baseline of 0 (avg of no rows is nan)
        ifNotFinite(avg(grid.appeals) over (
            partition by grid.municipality_code, grid.sector order by grid.week_start
            rows between 8 preceding and 1 preceding
        ), 0) as baseline_appeals,
        (grid.appeals - baseline_appeals) / (baseline_appeals + 5) as growth,
        (grid.missed + 10 * coalesce(regional.p_overdue, 0)) / (grid.due + 10) as overdue_share,
        (grid.repeats + 10 * coalesce(regional.p_repeat, 0)) / (grid.appeals + 10) as repeat_share,
        (grid.emergency + 10 * coalesce(regional.p_emergency, 0)) / (grid.appeals + 10) as severity_share,
        round(log(1 + grid.appeals) * (1 + greatest(growth, 0)) * (1 + overdue_share + repeat_share + severity_share), 3)
            as tension_index
    from grid
    left join regional on grid.week_start = regional.week_start and grid.sector = regional.sector

),

ranked as (

    select
        *,
        appeals >= {{ var('min_tension_appeals', 10) }} as is_ranked,
        lagInFrame(tension_index, 1, 0) over (
            partition by municipality_code, sector order by week_start
            rows between 1 preceding and current row
        ) as tension_index_prev_week,
        round(tension_index - tension_index_prev_week, 3) as tension_change
    from scored

),

final as (

    select
        ranked.*,
        responsibility.ministry_code as ministry_code,
        if(is_ranked, rank() over (partition by week_start, is_ranked order by tension_index desc), null)
            as tension_rank
    from ranked
    -- the sector's owner (a subcategory routed elsewhere still counts in its sector's row here)
    left join (
        select sector_code, authority_code as ministry_code
        from {{ ref('routing') }}
        where coalesce(subcategory_code, '') = ''
    ) as responsibility on ranked.sector = responsibility.sector_code

)

select * from final
