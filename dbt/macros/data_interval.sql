{#- The DAG's data interval as ClickHouse DateTime64(3, 'UTC') expressions.
    Airflow passes ISO-8601 strings (`data_interval_start.isoformat()`); unset vars mean "all data":
    the epoch as the start and the current time as the end, so a bare `dbt build` works. -#}

{% macro interval_start() -%}
    {%- set value = var('interval_start', none) -%}
    {%- if value -%}
        parseDateTime64BestEffort('{{ value }}', 3, 'UTC')
    {%- else -%}
        toDateTime64(0, 3, 'UTC')
    {%- endif -%}
{%- endmacro %}

{% macro interval_end() -%}
    {%- set value = var('interval_end', none) -%}
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
