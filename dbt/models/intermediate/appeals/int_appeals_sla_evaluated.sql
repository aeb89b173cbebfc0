-- Each appeal with its first-answer SLA evaluated as of the end of the data interval being built.
with

appeals as (

    select * from {{ ref('stg_cur__appeals') }}

),

evaluated as (

    select
        appeal_id,
        source,
        source_id,
        sector,
        subcategory,
        municipality_code,
        priority,
        status,
        created_at,
        sla_deadline_at,
        first_response_at,

        toDate(created_at, {{ region_tz() }}) as created_date,
        cast(first_response_at is not null, 'Bool') as is_answered,
        cast(coalesce(first_response_at <= sla_deadline_at, false), 'Bool') as is_answered_on_time,
        -- Overdue: answered after the deadline, or still unanswered once the deadline has
        -- passed by the end of the interval (an open appeal within its deadline is not overdue).
        cast(
            (is_answered and not is_answered_on_time)
            or (not is_answered and sla_deadline_at < {{ interval_end() }}),
            'Bool'
        ) as is_overdue

    from appeals

)

select * from evaluated
