-- The current state of each appeal from its status events (cur.appeal_state): renames and casts only.
select
    cast(source, 'String') as source,
    source_id,
    current_status,
    first_response_at,
    first_assigned_at,
    first_resolved_at,
    last_resolved_at,
    last_active_at,
    reopened as is_reopened,
    returned_count,
    last_rating,
    confirmed as is_confirmed,
    executor,
    events,
    history
from {{ source('cur', 'appeal_state') }}
