{{ config(materialized='view') }}

-- heatmap_cells_weekly with the tension index of each cell's municipality × sector and week, joined at
-- read time: a week's index moves when earlier weeks (its baseline) are rebuilt, which an incremental
-- table of cells would not follow.
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
    cells.cell_lat as cell_lat,
    cells.cell_lon as cell_lon,
    cells.cell_boundary as cell_boundary,
    tension.tension_index as tension_index
from {{ ref('heatmap_cells_weekly') }} as cells
left join {{ ref('tension_weekly') }} as tension
    on cells.week_start = tension.week_start
    and cells.municipality_code = tension.municipality_code
    and cells.sector = tension.sector
