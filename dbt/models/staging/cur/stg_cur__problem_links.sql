-- One row per linked appeal: its problem and repeat mark, as the linkage job wrote them.
with

source as (

    select * from {{ source('cur', 'problem_links') }}

),

renamed as (

    select
        cast(source, 'String') as source,
        source_id,
        problem_id,
        is_repeat,
        repeat_of_problem_id,
        match_probability
    from source

)

select * from renamed
