-- What the linkage compares, one row per canonical appeal created in [{start}, {end}): computed by
-- ClickHouse at read time (its H3, n-gram and regular-expression functions are native and fast),
-- so Spark receives plain columns. Placeholders: {db} (canonical database), address_parse and
-- registry_parse in braces (the address parsing of address.sql, filled in by features.py for the
-- appeals and for the registry), {municipalities} (a regular-expression alternation of the region's municipality names, lower case, ё as е, from
-- cur/taxonomy). Arrays travel as comma-separated strings: the JDBC driver maps no ClickHouse array
-- to a Spark type.
--
-- The point of an appeal is its reported one (GPS, a camera) or, without one, its parsed street and
-- house geocoded with the address registry ({db}.address_registry, the stand-in for the region's ГАР):
-- the house's point interpolated along its street. A street written without its type ("Ленина 5")
-- is geocoded only when one of the municipality's streets of that name has that house. So a 112 call
-- (an address) and a camera (a point) share an H3 cell and a distance. `geocoded_point` says the
-- point came from the address: two such points say no more than the address comparison already does.
WITH
    p.reported_lat IS NULL OR p.reported_lon IS NULL AS geocoded,
    -- The registry's streets the address may name, and of them those that have its house.
    arrayFilter(c -> p.house BETWEEN 1 AND c.1, g.streets) AS fitting,
    if(length(fitting) = 1, fitting[1], NULL) AS street_line,
    if(NOT geocoded, p.reported_lat,
        street_line.2 + (street_line.4 - street_line.2) * (p.house - 1) / greatest(street_line.1 - 1, 1)) AS point_lat,
    if(NOT geocoded, p.reported_lon,
        street_line.3 + (street_line.5 - street_line.3) * (p.house - 1) / greatest(street_line.1 - 1, 1)) AS point_lon
SELECT
    p.unique_id AS unique_id, p.source AS source, p.source_id AS source_id, p.sector AS sector,
    p.subcategory AS subcategory, p.municipality_code AS municipality_code, p.created_at AS created_at,
    p.created_s AS created_s,
    point_lat AS lat,
    point_lon AS lon,
    toUInt8(geocoded AND point_lat IS NOT NULL) AS geocoded_point,  -- 1: the point is its address's
    if(point_lat IS NULL, NULL, h3ToString(geoToH3(assumeNotNull(point_lat), assumeNotNull(point_lon), 9))) AS h3_cell,
    if(point_lat IS NULL, NULL,
        arrayStringConcat(arrayMap(c -> h3ToString(c), h3kRing(geoToH3(assumeNotNull(point_lat), assumeNotNull(point_lon), 9), 1)), ','))
        AS h3_ring,
    p.street_kind AS street_kind, p.street_key AS street_key, p.house AS house, p.text_shingles AS text_shingles,
    p.current_status AS current_status, p.resolved_at AS resolved_at
FROM (
    WITH
        {address_parse},
        -- Free text written by a person (POS, the inspectorate); machine texts of 112 and Safe City say nothing.
        if(a.source IN ('pos', 'housing'),
            trim(replaceRegexpAll(replaceRegexpAll(replaceAll(lowerUTF8(a.text), 'ё', 'е'), '\(ук:[^)]*\)', ' '),
                '[^а-яa-z0-9]+', ' ')),
            '') AS text_clean
    SELECT
        toString(a.appeal_id) AS unique_id,
        toString(a.source) AS source,
        a.source_id AS source_id,
        a.sector AS sector,
        a.subcategory AS subcategory,
        a.municipality_code AS municipality_code,
        a.created_at AS created_at,
        toUnixTimestamp64Milli(a.created_at) / 1000.0 AS created_s,
        a.lat AS reported_lat,
        a.lon AS reported_lon,
        kind_word AS address_kind,
        nullIf(kind_word, '') AS street_kind,
        parsed_street_key AS street_key,
        toUInt32OrNull(house_text) AS house,
        nullIf(arrayStringConcat(arrayDistinct(ngrams(text_clean, 3)), ','), '') AS text_shingles,
        if(s.events > 0, s.current_status, a.status) AS current_status,  -- the rule of the appeal_state view
        -- The latest resolution (a returned appeal is resolved again): a problem that comes back is
        -- counted from the last time it was fixed.
        s.last_resolved_at AS resolved_at
    FROM {db}.appeals AS a FINAL
    LEFT JOIN {db}.appeal_state AS s ON a.source = s.source AND a.source_id = s.source_id
    WHERE a.created_at >= {start:DateTime64(3, 'UTC')} AND a.created_at < {end:DateTime64(3, 'UTC')}
) AS p
LEFT JOIN (
    -- The registry's streets by (municipality, street_key, street kind), and by (municipality,
    -- street_key, '') for an address written without the street's type: all the streets of that name.
    SELECT municipality_code, street_key, kind_word, groupArray(line) AS streets
    FROM (
        WITH {registry_parse}
        SELECT municipality_code, parsed_street_key AS street_key, kind_word,
            (toUInt32(houses), lat_first, lon_first, lat_last, lon_last) AS line
        FROM {db}.address_registry
    ) AS registry
    ARRAY JOIN [kind_word, ''] AS kind_word
    WHERE street_key IS NOT NULL
    GROUP BY municipality_code, street_key, kind_word
) AS g ON p.municipality_code = g.municipality_code AND p.street_key = g.street_key AND p.address_kind = g.kind_word
SETTINGS geotoh3_argument_order = 'lat_lon'
