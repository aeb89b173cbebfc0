-- One row per appeal from the deduplicated canonical table: renames and casts only.
with

source as (

    select * from {{ source('cur', 'appeals_dedup') }} final

),

renamed as (

    select
        -- ids and lineage
        appeal_id,
        cast(source, 'String') as source,
        source_id,
        kafka_topic,
        kafka_partition,
        kafka_offset,

        -- classification
        sector,
        subcategory,
        municipality_code,
        cast(priority, 'String') as priority,
        status,

        -- place
        lat,
        lon,

        -- timestamps (UTC)
        created_at,
        sla_deadline_at as first_answer_due_at,
        resolve_by,
        first_response_at,
        ingested_at

    from source

)

select * from renamed
