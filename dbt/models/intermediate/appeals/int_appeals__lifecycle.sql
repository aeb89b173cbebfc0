-- The lifecycle of each appeal created in the rebuilt days, evaluated as of `as_of()`: both SLAs met,
-- missed, pending or not applicable, answer and resolution times, rework, reopen, repeat, executor and
-- who answers for it. Ephemeral: it is inlined into fct_appeals, so the window filter reaches the
-- canonical table and the state is read for these appeals only, not for the whole history.
{{ config(materialized='ephemeral') }}

with

appeals as (

    select * from {{ ref('stg_cur__appeals') }}
    where {{ in_window('created_at') }}

),

state as (

    select * from {{ ref('stg_cur__appeal_state') }}
    {% if run_value('interval_start') -%}
    -- a run's window: read the state of its appeals only (a full refresh reads them all anyway)
    where (source, source_id) in (select source, source_id from appeals)
    {%- endif %}

),

problems as (

    select * from {{ ref('int_problems__members') }}
    {% if run_value('interval_start') -%}
    where (source, source_id) in (select source, source_id from appeals)
    {%- endif %}

),

responsibility as (

    select * from {{ ref('int_taxonomy__responsibility') }}

),

municipalities as (

    select municipality_code, municipality_name_ru from {{ ref('municipalities') }}

),

joined as (

    select
        appeals.appeal_id as appeal_id,
        appeals.source as source,
        appeals.source_id as source_id,
        appeals.kafka_topic as kafka_topic,
        appeals.kafka_partition as kafka_partition,
        appeals.kafka_offset as kafka_offset,
        appeals.sector as sector,
        appeals.subcategory as subcategory,
        appeals.municipality_code as municipality_code,
        appeals.priority as priority,
        appeals.status as status,
        appeals.lat as lat,
        appeals.lon as lon,
        appeals.created_at as created_at,
        appeals.first_answer_due_at as first_answer_due_at,
        appeals.resolve_by as resolve_by,
        appeals.first_response_at as first_response_at,
        state.current_status as state_status,
        state.first_response_at as state_first_response_at,
        state.first_assigned_at as first_assigned_at,
        state.first_resolved_at as first_resolved_at,
        state.last_resolved_at as last_resolved_at,
        state.last_active_at as last_active_at,
        coalesce(state.returned_count, 0) as returned_count,
        state.last_rating as last_rating,
        state.is_confirmed as state_confirmed,
        coalesce(state.is_reopened, false) as state_reopened,
        state.history as history,
        coalesce(state.executor, '') as executor,
        problems.problem_id as linked_problem_id,
        coalesce(problems.is_repeat, false) as is_repeat,
        problems.repeat_of_problem_id as repeat_of_problem_id,
        coalesce(responsibility.sector_name_ru, '') as sector_name_ru,
        coalesce(responsibility.subcategory_name_ru, '') as subcategory_name_ru,
        coalesce(responsibility.sla_class, '') as sla_class,
        coalesce(responsibility.ministry_code, '') as ministry_code,
        coalesce(responsibility.ministry_name_ru, '') as ministry_name_ru,
        coalesce(municipalities.municipality_name_ru, '') as municipality_name_ru,
        {{ as_of() }} as evaluated_at
    from appeals
    left join state on appeals.source = state.source and appeals.source_id = state.source_id
    left join problems on appeals.source = problems.source and appeals.source_id = problems.source_id
    left join responsibility on appeals.subcategory = responsibility.subcategory_code
    left join municipalities on appeals.municipality_code = municipalities.municipality_code

),

timed as (

    select
        *,
        -- what had happened by as_of (a later answer does not count yet)
        nullIf(least(
            coalesce(state_first_response_at, first_response_at, toDateTime64('2299-12-31', 3, 'UTC')),
            coalesce(first_response_at, state_first_response_at, toDateTime64('2299-12-31', 3, 'UTC'))
        ), toDateTime64('2299-12-31', 3, 'UTC')) as answered_at_any,
        if(answered_at_any <= evaluated_at, answered_at_any, null) as first_answer_at_known,
        if(coalesce(state_status, status) = 'resolved' and last_resolved_at <= evaluated_at,
            last_resolved_at, null) as resolved_at_known,
        if(least(coalesce(first_assigned_at, first_resolved_at), coalesce(first_resolved_at, first_assigned_at))
            <= evaluated_at,
            least(coalesce(first_assigned_at, first_resolved_at), coalesce(first_resolved_at, first_assigned_at)),
            null) as reacted_at_known,
        coalesce(history, []) as steps,
        arrayReduce('sumMap', [arrayMap(step -> step.status, steps)], [arrayMap(i ->
            if(i < length(steps),
                dateDiff('second', steps[i].event_at, steps[i + 1].event_at),
                if(steps[i].status in ('resolved', 'rejected'), 0,
                    greatest(dateDiff('second', steps[i].event_at, evaluated_at), 0))) / 3600.0,
            arrayEnumerate(steps))]) as status_hours
    from joined

),

evaluated as (

    select
        appeal_id,
        source,
        source_id,
        kafka_topic,
        kafka_partition,
        kafka_offset,
        created_at,
        toDate(created_at, {{ region_tz() }}) as created_date,
        sector,
        sector_name_ru,
        subcategory,
        subcategory_name_ru,
        sla_class,
        municipality_code,
        municipality_name_ru,
        ministry_code,
        ministry_name_ru,
        executor,
        priority,
        coalesce(state_status, status) as current_status,
        cast(source = 'safe_city', 'Bool') as is_signal,

        first_answer_due_at,
        first_answer_at_known as first_answer_at,
        -- a rejected appeal (moderation: spam, abuse, a duplicate) is owed no answer and no fix
        multiIf(
            is_signal or current_status = 'rejected', 'not_applicable',
            first_answer_at is not null and first_answer_at <= first_answer_due_at, 'met',
            first_answer_at is not null, 'missed',
            first_answer_due_at < evaluated_at, 'missed',
            'pending'
        ) as first_answer_state,
        if(first_answer_at is null or is_signal, null,
            dateDiff('second', created_at, first_answer_at) / 60.0) as first_answer_minutes,

        resolve_by,
        resolved_at_known as resolved_at,
        multiIf(
            resolve_by is null or current_status = 'rejected', 'not_applicable',
            resolved_at is not null and resolved_at <= resolve_by, 'met',
            resolved_at is not null, 'missed',
            resolve_by < evaluated_at, 'missed',
            'pending'
        ) as resolution_state,
        if(resolved_at is null, null, dateDiff('second', created_at, resolved_at) / 3600.0) as resolution_hours,

        -- awaiting the authority: the resolution where one is due, else the first answer; a Safe City
        -- signal without a fix deadline waits for someone to act on it; a rejected appeal waits for nothing
        multiIf(
            current_status = 'rejected', created_at,
            resolve_by is not null, resolved_at,
            is_signal, reacted_at_known,
            first_answer_at
        ) as closed_at,
        multiIf(resolve_by is not null, resolve_by, is_signal, null, first_answer_due_at) as backlog_due_at,
        cast(closed_at is null, 'Bool') as is_open,
        cast(is_open and coalesce(backlog_due_at < evaluated_at, false), 'Bool') as is_overdue,
        if(is_overdue, dateDiff('second', backlog_due_at, evaluated_at) / 3600.0, null) as overdue_hours,

        returned_count,
        cast(returned_count > 0, 'Bool') as is_returned,
        cast(state_reopened, 'Bool') as is_reopened,
        last_rating as rating,
        -- null where the feed carries no applicant confirmation (only POS does): not in the denominator
        cast(state_confirmed, 'Nullable(Bool)') as is_confirmed,
        coalesce(linked_problem_id, appeal_id) as problem_id,
        cast(is_repeat, 'Bool') as is_repeat,
        repeat_of_problem_id,
        if(is_signal and reacted_at_known is not null,
            greatest(dateDiff('second', created_at, reacted_at_known), 0) / 60.0, null) as reaction_minutes,

        -- hours spent in each status, from each step to the next (the last open one up to evaluated_at)
        mapFromArrays(status_hours.1, status_hours.2) as hours_in_status,

        lat,
        lon,
        if(lat is null or lon is null, '', h3ToString(geoToH3(assumeNotNull(lat), assumeNotNull(lon), 8))) as h3_cell,
        evaluated_at
    from timed

)

select * from evaluated
