{{ config(materialized='view', sql_security='definer', definer='CURRENT_USER') }}

-- The tension index and volume per ISO week, municipality and sector (tension_weekly) with the
-- municipality's outline, for the heat map's choropleth: Superset's deck.gl Polygon layer groups by the
-- outline and colours it by a metric over the filtered weeks and sectors. Read time join of ten rows.
select
    tension.week_start as week_start,
    tension.municipality_code as municipality_code,
    tension.municipality_name_ru as municipality_name_ru,
    tension.sector as sector,
    tension.sector_name_ru as sector_name_ru,
    tension.ministry_code as ministry_code,
    tension.appeals as appeals,
    tension.tension_index as tension_index,
    tension.tension_index_prev_week as tension_index_prev_week,
    boundaries.boundary as municipality_boundary
from {{ ref('tension_weekly') }} as tension
inner join {{ source('cur', 'municipality_boundaries') }} as boundaries
    on tension.municipality_code = boundaries.municipality_code
