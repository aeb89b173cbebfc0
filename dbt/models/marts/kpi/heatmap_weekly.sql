{{ config(materialized='table', engine='MergeTree()', order_by=['week_start', 'municipality_code', 'sector', 'h3_cell']) }}

-- Appeals, problems and misses per ISO week, H3 cell (resolution 8, about 0.7 km²), municipality and
-- sector, with the cell's centre and outline for Superset's deck.gl layers and the report maps, and the
-- tension index of its municipality × sector. An appeal without coordinates (112, ГЖИ, part of POS) has
-- no cell and is counted in tension_weekly only.
with

appeals as (

    select * from {{ ref('fct_appeals') }}
    where h3_cell != ''

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
        cells.week_start as week_start,
        cells.h3_cell as h3_cell,
        cells.municipality_code as municipality_code,
        cells.municipality_name_ru as municipality_name_ru,
        cells.sector as sector,
        cells.sector_name_ru as sector_name_ru,
        cells.appeals as appeals,
        cells.problems as problems,
        cells.overdue as overdue,
        h3ToGeo(stringToH3(cells.h3_cell)).1 as cell_lat,
        h3ToGeo(stringToH3(cells.h3_cell)).2 as cell_lon,
        -- GeoJSON ring [lon, lat], closed, as Superset's deck.gl Polygon layer reads it
        concat('{"type":"Polygon","coordinates":[[',
            arrayStringConcat(arrayMap(p -> format('[{},{}]', toString(round(p.2, 6)), toString(round(p.1, 6))),
                arrayPushBack(h3ToGeoBoundary(stringToH3(cells.h3_cell)), h3ToGeoBoundary(stringToH3(cells.h3_cell))[1])), ','),
            ']]}') as cell_boundary,
        tension.tension_index as tension_index
    from cells
    left join {{ ref('tension_weekly') }} as tension
        on cells.week_start = tension.week_start
        and cells.municipality_code = tension.municipality_code
        and cells.sector = tension.sector

)

select * from final
