{#- The DAG's data interval as ClickHouse DateTime64(3, 'UTC') expressions.
    Airflow passes ISO-8601 strings (`data_interval_start.isoformat()`); unset vars mean "all data":
    the epoch as the start and the current time as the end, so a bare `dbt build` works. -#}

{#- A value of the run: the dbt var when given (`--vars`), else the environment (CUR_DBT_INTERVAL_START,
    CUR_DBT_INTERVAL_END, CUR_DBT_AS_OF), which is how the DAG passes them: a var that changes on every
    run makes dbt re-parse the whole project, an environment variable only the files that read it. -#}
{% macro run_value(name) -%}
    {{- return(var(name, none) or env_var('CUR_DBT_' ~ name | upper, '') or none) -}}
{%- endmacro %}

{#- A run value as a ClickHouse DateTime64(3, 'UTC') expression, or `default` when it is not given. -#}
{% macro run_moment(name, default) -%}
    {%- set value = run_value(name) -%}
    {%- if value -%}
        parseDateTime64BestEffort('{{ value }}', 3, 'UTC')
    {%- else -%}
        {{ default }}
    {%- endif -%}
{%- endmacro %}

{% macro interval_start() -%}
    {{- run_moment('interval_start', "toDateTime64(0, 3, 'UTC')") -}}
{%- endmacro %}

{% macro interval_end() -%}
    {{- run_moment('interval_end', "now64(3, 'UTC')") -}}
{%- endmacro %}

{#- The region's time zone, in which a "day" of the KPI is counted (cur/settings.py: CUR_REGION_TZ). -#}
{% macro region_tz() -%}
    '{{ env_var("CUR_REGION_TZ", "Europe/Moscow") }}'
{%- endmacro %}

{#- The moment the SLA states are evaluated at: `as_of` when given (tests, reproducible rebuilds), else
    the build's own "now". An answer stored later than as_of does not count yet, and a deadline that has
    passed by as_of with no answer is a miss; so one as_of gives the same figures in any run order. -#}
{% macro as_of() -%}
    {{- run_moment('as_of', "now64(3, 'UTC')") -}}
{%- endmacro %}

{#- The regional days a run rebuilds. With a data interval: its days plus the look-back that answers,
    ratings and returns for rework keep arriving in (var lookback_days), so the
    figures converge; without one (a full refresh): every day up to the interval's end. -#}
{% macro window_first_day() -%}
    {%- if run_value('interval_start') -%}
        (toDate({{ interval_start() }}, {{ region_tz() }}) - {{ lookback_days() }})
    {%- else -%}
        toDate('1970-01-01')
    {%- endif -%}
{%- endmacro %}

{% macro window_last_day() -%}
    toDate({{ interval_end() }} - toIntervalMillisecond(1), {{ region_tz() }})
{%- endmacro %}

{% macro lookback_days() -%}
    {{ var('lookback_days') | int }}
{%- endmacro %}

{#- A UTC timestamp column inside the rebuilt days, written on the timestamp itself so ClickHouse prunes
    partitions and granules by it. -#}
{% macro in_window(timestamp_column) -%}
    {{ timestamp_column }} >= toDateTime64({{ window_first_day() }}, 3, {{ region_tz() }})
    and {{ timestamp_column }} < toDateTime64({{ window_last_day() }} + 1, 3, {{ region_tz() }})
{%- endmacro %}
