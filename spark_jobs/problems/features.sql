-- What the linkage compares, one row per canonical appeal created in [{start}, {end}): computed by
-- ClickHouse at read time (its H3, n-gram and regular-expression functions are native and fast),
-- so Spark receives plain columns. Placeholders: {db} (canonical database), {municipalities} (a
-- regular-expression alternation of the region's municipality names, lower case, ё as е; built by
-- spark_jobs/problems/features.py from cur/taxonomy). Arrays travel as comma-separated strings:
-- the JDBC driver maps no ClickHouse array to a Spark type.
WITH
    -- The address as people write it → street (its core words, the ordinal first) and house.
    replaceAll(lowerUTF8(a.address), 'ё', 'е') AS address_lower,
    -- Apartment, entrance, floor and block say nothing about where the problem is.
    replaceRegexpAll(address_lower, '[,\s]*(кв\.?|квартира|подъезд|корп\.?|корпус|этаж)\s*\d+\S*', ' ') AS address_building,
    replaceRegexpOne(address_building, '^\s*(г\.\s*|город\s+)?({municipalities})\s*,\s*', '') AS address_local,
    multiIf(
        match(address_local, '(^|[^а-я])(ул\.|улица|ул)([^а-я]|$)'), 'ул',
        match(address_local, '(^|[^а-я])(пер\.|переулок|пер)([^а-я]|$)'), 'пер',
        match(address_local, '(^|[^а-я])(пр-т|проспект)([^а-я]|$)'), 'пр-т',
        match(address_local, '(^|[^а-я])(б-р|бульвар)([^а-я]|$)'), 'б-р',
        match(address_local, '(^|[^а-я])(проезд|пр-д)([^а-я]|$)'), 'проезд',
        match(address_local, '(^|[^а-я])(пл\.|площадь)([^а-я]|$)'), 'пл',
        match(address_local, '(^|[^а-я])(ш\.|шоссе)([^а-я]|$)'), 'ш',
        match(address_local, '(^|[^а-я])(наб\.|набережная)([^а-я]|$)'), 'наб',
        ''
    ) AS kind_word,
    extract(address_local, '(\d+)-?(?:й|я|е|ой|ый|ая|ий)(?:[^а-я]|$)') AS street_ordinal,
    replaceRegexpAll(address_local, '\d+-?(й|я|е|ой|ый|ая|ий)([^а-я]|$)', ' ') AS address_no_ordinal,
    -- The house: the first number after the street (of a range "от д. 34 до д. 39", its first).
    extract(address_no_ordinal, '(\d+)') AS house_text,
    splitByRegexp('[^а-яa-z]+', substring(address_no_ordinal, 1, greatest(position(address_no_ordinal, house_text) - 1, 0)
        + if(house_text = '', length(address_no_ordinal) + 1, 0))) AS street_part_words,
    arrayFilter(
        w -> length(w) > 1 AND NOT has(['ул', 'улица', 'пер', 'переулок', 'пр', 'т', 'проспект', 'б', 'р', 'бульвар',
            'проезд', 'д', 'пл', 'площадь', 'ш', 'шоссе', 'наб', 'набережная', 'дом', 'дома', 'домов', 'около', 'напротив',
            'районе', 'от', 'до', 'у', 'возле', 'рядом', 'во', 'дворе', 'на', 'перекрестке', 'остановки', 'магазина',
            'школы', 'г', 'город'], w),
        street_part_words
    ) AS street_words,
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
    a.lat AS lat,
    a.lon AS lon,
    if(a.lat IS NULL OR a.lon IS NULL, NULL, h3ToString(geoToH3(assumeNotNull(a.lat), assumeNotNull(a.lon), 9))) AS h3_cell,
    if(a.lat IS NULL OR a.lon IS NULL, NULL,
        arrayStringConcat(arrayMap(c -> h3ToString(c), h3kRing(geoToH3(assumeNotNull(a.lat), assumeNotNull(a.lon), 9), 1)), ','))
        AS h3_ring,
    nullIf(kind_word, '') AS street_kind,
    nullIf(trim(concat(street_ordinal, ' ', arrayStringConcat(arraySort(street_words), ' '))), '') AS street_key,
    toUInt32OrNull(house_text) AS house,
    nullIf(arrayStringConcat(arrayDistinct(ngrams(text_clean, 3)), ','), '') AS text_shingles,
    if(s.events > 0, s.current_status, a.status) AS current_status,  -- the rule of the appeal_state view
    r.resolved_at AS resolved_at
FROM {db}.appeals AS a FINAL
LEFT JOIN {db}.appeal_state AS s ON a.source = s.source AND a.source_id = s.source_id
LEFT JOIN (
    SELECT source, source_id, min(event_at) AS resolved_at
    FROM {db}.appeal_status_events FINAL
    WHERE status = 'resolved' AND event_at >= {start:DateTime64(3, 'UTC')}
    GROUP BY source, source_id
) AS r ON a.source = r.source AND a.source_id = r.source_id
WHERE a.created_at >= {start:DateTime64(3, 'UTC')} AND a.created_at < {end:DateTime64(3, 'UTC')}
SETTINGS geotoh3_argument_order = 'lat_lon'
