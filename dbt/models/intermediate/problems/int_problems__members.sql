-- Each appeal's problem and repeat mark. An appeal the linkage job has not seen (yet) is a problem of
-- its own and no repeat: the problem id is always the appeal id of the problem's first report.
{{ config(materialized='ephemeral') }}

select
    source,
    source_id,
    problem_id,
    is_repeat,
    repeat_of_problem_id
from {{ ref('stg_cur__problem_links') }}
