-- The municipalities' boundaries: one row per municipality with its outline as a GeoJSON geometry
-- (a Polygon, [lon, lat] WGS-84), for the heat map's choropleth (dbt's municipality_map_weekly joins
-- it to the tension index). Filled by cur.migrate after the migrations from
-- cur/reference/municipalities.geojson and replaced whole on every migrate. Here the file is derived
-- from the generator's geography (streams.generator.boundaries), a real region loads its own.
CREATE TABLE IF NOT EXISTS {db}.municipality_boundaries
(
    municipality_code     LowCardinality(String),
    municipality_name_ru  String,
    boundary              String,    -- GeoJSON geometry: {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}
    centre_lat            Float64,
    centre_lon            Float64,
    area_km2              Float64
)
ENGINE = MergeTree
ORDER BY municipality_code
