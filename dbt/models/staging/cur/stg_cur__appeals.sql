-- One row per appeal from the deduplicated canonical table: renames and casts only.
{#- FINAL merges each partition on its own (do_not_merge_across_partitions_select_final): an appeal's
    copies share its created_at, so they lie in one partition of appeals_dedup (region-local month of
    created_at) and FINAL gives what the table's own merges converge to. Merging across partitions
    would add nothing, and it keeps ClickHouse from pruning partitions by a created_at filter: merged
    across partitions (the default), every read of a window through this view read all 10 M appeals of
    the benchmark (4.2 s); per partition, the window's months only (0.1 s). -#}
{{ config(query_settings={'do_not_merge_across_partitions_select_final': 1}) }}
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
