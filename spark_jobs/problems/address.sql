-- How an address as people write it is parsed into street (its core words, the ordinal first) and
-- house: the WITH expressions that features.sql uses twice, for the appeals' addresses and for the
-- address registry's street names, so that both give the same street_key and street_kind.
-- Placeholders: address in braces (the address column), {municipalities} (see features.sql).
    replaceAll(lowerUTF8({address}), 'ё', 'е') AS address_lower,
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
        w -> lengthUTF8(w) > 1 AND NOT has(['ул', 'улица', 'пер', 'переулок', 'пр', 'т', 'проспект', 'б', 'р', 'бульвар',
            'проезд', 'д', 'пл', 'площадь', 'ш', 'шоссе', 'наб', 'набережная', 'дом', 'дома', 'домов', 'около', 'напротив',
            'районе', 'от', 'до', 'у', 'возле', 'рядом', 'во', 'дворе', 'на', 'перекрестке', 'остановки', 'магазина',
            'школы', 'г', 'город'], w),
        street_part_words
    ) AS street_words,
    nullIf(trim(concat(street_ordinal, ' ', arrayStringConcat(arraySort(street_words), ' '))), '') AS parsed_street_key
