{#- backlog_daily keeps a day number `day` when it is among the last var backlog_daily_days days of the
    history (as_of's day, from the model's `as_of` CTE), a Sunday, or the last day of its month. -#}
{% macro kept_snapshot(day) -%}
    ({{ day }} + {{ var('backlog_daily_days') | int }} > toUInt32((select last_day from as_of))
        or toDayOfWeek(toDate({{ day }})) = 7 or toDate({{ day }}) = toLastDayOfMonth(toDate({{ day }})))
{%- endmacro %}
