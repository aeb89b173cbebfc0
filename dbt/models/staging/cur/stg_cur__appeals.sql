-- One row per appeal from the deduplicated canonical table: renames and casts only.
with

source as (

    select * from {{ source('cur', 'appeals_dedup') }} final

),

renamed as (

    select
        -- ids
        appeal_id,
        cast(source, 'String') as source,
        source_id,

        -- classification
        sector,
        subcategory,
        municipality_code,
        cast(priority, 'String') as priority,
        status,

        -- place
        address,
        lat,
        lon,

        -- timestamps (UTC)
        created_at,
        sla_deadline_at,
        first_response_at,
        ingested_at

    from source

)

select * from renamed
