{#- insert_overwrite by week: a run rebuilds every week its days and look-back touch, whole, from
    fct_appeals (whose other days of those weeks were built by the runs that cover them: the last run to
    touch a week comes after all of them, so any order of runs ends with the full refresh's weeks). -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        engine='MergeTree()',
        partition_by='week_start',
        order_by=['week_start', 'municipality_code', 'sector', 'h3_cell'],
    )
}}

-- Appeals, problems and misses per ISO week, H3 cell (resolution 8, about 0.7 km²), municipality and
-- sector, with the cell's centre and outline for Superset's deck.gl layers and the report maps (read
-- through heatmap_weekly, which adds the current tension index). An appeal without coordinates (112,
-- ГЖИ, part of POS) has no cell and is counted in tension_weekly only.
with

appeals as (

    select * from {{ ref('fct_appeals') }}
    where h3_cell != ''
      and created_date between toMonday({{ window_first_day() }}) and {{ window_last_day() }}

),

cells as (

    select
        toMonday(created_date) as week_start,
        h3_cell,
        municipality_code,
        any(municipality_name_ru) as municipality_name_ru,
        sector,
        any(sector_name_ru) as sector_name_ru,
        count() as appeals,
        uniqExact(problem_id) as problems,
        countIf(first_answer_state = 'missed' or resolution_state = 'missed') as overdue
    from appeals
    group by week_start, h3_cell, municipality_code, sector

),

final as (

    select
        week_start,
        h3_cell,
        municipality_code,
        municipality_name_ru,
        sector,
        sector_name_ru,
        appeals,
        problems,
        overdue,
        h3ToGeo(stringToH3(h3_cell)).1 as cell_lat,
        h3ToGeo(stringToH3(h3_cell)).2 as cell_lon,
        -- GeoJSON ring [lon, lat], closed, as Superset's deck.gl Polygon layer reads it
        concat('{"type":"Polygon","coordinates":[[',
            arrayStringConcat(arrayMap(p -> format('[{},{}]', toString(round(p.2, 6)), toString(round(p.1, 6))),
                arrayPushBack(h3ToGeoBoundary(stringToH3(h3_cell)), h3ToGeoBoundary(stringToH3(h3_cell))[1])), ','),
            ']]}') as cell_boundary
    from cells

)

select * from final
