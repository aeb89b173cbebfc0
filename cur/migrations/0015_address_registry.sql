-- The region's address registry: one row per street with its house range and the points of its first
-- and last house. It stands in for the region's ГАР/ФИАС with coordinates (exported from the
-- generator's street model into cur/reference/addresses.csv by streams.generator.address_registry).
-- Filled by cur.migrate after the migrations and replaced whole on every migrate. The problem linkage
-- geocodes a parsed street and house to a point with it (spark_jobs/problems/features.sql), so reports
-- that give only an address block and compare with reports that give only a point.
CREATE TABLE IF NOT EXISTS {db}.address_registry
(
    municipality_code  LowCardinality(String),
    street             String,    -- the official name: "ул. Ленина", "2-й пер. Школьный"
    houses             UInt16,    -- houses 1..houses, evenly spaced along the street
    lat_first          Float64,   -- house 1
    lon_first          Float64,
    lat_last           Float64,   -- house `houses`
    lon_last           Float64
)
ENGINE = MergeTree
ORDER BY (municipality_code, street)
