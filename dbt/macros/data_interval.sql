{#- The DAG's data interval as ClickHouse DateTime64(3, 'UTC') expressions.
    Airflow passes ISO-8601 strings (`data_interval_start.isoformat()`); unset vars mean "all data":
    the epoch as the start and the current time as the end, so a bare `dbt build` works. -#}

{#- A value of the run: the dbt var when given (`--vars`), else the environment (CUR_DBT_INTERVAL_START,
    CUR_DBT_INTERVAL_END, CUR_DBT_AS_OF), which is how the DAG passes them: a var that changes on every
    run makes dbt re-parse the whole project, an environment variable only the files that read it. -#}
{% macro run_value(name) -%}
    {{- return(var(name, none) or env_var('CUR_DBT_' ~ name | upper, '') or none) -}}
{%- endmacro %}

{% macro interval_start() -%}
    {%- set value = run_value('interval_start') -%}
    {%- if value -%}
        parseDateTime64BestEffort('{{ value }}', 3, 'UTC')
    {%- else -%}
        toDateTime64(0, 3, 'UTC')
    {%- endif -%}
{%- endmacro %}

{% macro interval_end() -%}
    {%- set value = run_value('interval_end') -%}
    {%- if value -%}
        parseDateTime64BestEffort('{{ value }}', 3, 'UTC')
    {%- else -%}
        now64(3, 'UTC')
    {%- endif -%}
{%- endmacro %}

{#- The region's time zone, in which a "day" of the KPI is counted (cur/settings.py: CUR_REGION_TZ). -#}
{% macro region_tz() -%}
    '{{ env_var("CUR_REGION_TZ", "Europe/Moscow") }}'
{%- endmacro %}

{#- The regional days the data interval touches. The mart is rebuilt whole days at a time, so an
    interval that does not align with local midnight still never leaves a partial day behind. -#}
{% macro interval_dates_condition(date_column) -%}
    {{ date_column }} between toDate({{ interval_start() }}, {{ region_tz() }})
        and toDate({{ interval_end() }} - toIntervalMillisecond(1), {{ region_tz() }})
{%- endmacro %}

{#- The moment the SLA states are evaluated at: `as_of` when given (tests, reproducible rebuilds), else
    the build's own "now". An answer stored later than as_of does not count yet, and a deadline that has
    passed by as_of with no answer is a miss; so one as_of gives the same figures in any run order. -#}
{% macro as_of() -%}
    {%- set value = run_value('as_of') -%}
    {%- if value -%}
        parseDateTime64BestEffort('{{ value }}', 3, 'UTC')
    {%- else -%}
        now64(3, 'UTC')
    {%- endif -%}
{%- endmacro %}

{#- The regional days a run rebuilds. With a data interval: its days plus the look-back that answers,
    ratings and returns for rework keep arriving in (var lookback_days, CUR_KPI_LOOKBACK_DAYS), so the
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
