-- Every subcategory with its sector, SLA class and the ministry or agency that answers for it: the
-- subcategory's own routing row when it has one, else its sector's row (cur/taxonomy/routing.csv).
with

subcategories as (

    select * from {{ ref('subcategories') }}

),

by_subcategory as (

    select subcategory_code, authority_code
    from {{ ref('routing') }}
    where coalesce(subcategory_code, '') != ''

),

by_sector as (

    select sector_code, authority_code
    from {{ ref('routing') }}
    where coalesce(subcategory_code, '') = ''

),

authorities as (

    select * from {{ ref('authorities') }}

),

final as (

    select
        subcategories.subcategory_code as subcategory_code,
        subcategories.subcategory_name_ru as subcategory_name_ru,
        subcategories.sector_code as sector_code,
        subcategories.sector_name_ru as sector_name_ru,
        subcategories.sla_class as sla_class,
        coalesce(by_subcategory.authority_code, by_sector.authority_code) as ministry_code,
        authorities.authority_name_ru as ministry_name_ru
    from subcategories
    left join by_subcategory on subcategories.subcategory_code = by_subcategory.subcategory_code
    left join by_sector on subcategories.sector_code = by_sector.sector_code
    left join authorities on coalesce(by_subcategory.authority_code, by_sector.authority_code) = authorities.authority_code

)

select * from final
