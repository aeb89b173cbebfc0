{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['created_date', 'sector', 'municipality_code'],
        engine='MergeTree()',
        order_by=['created_date', 'sector', 'municipality_code'],
        partition_by='toYYYYMM(created_date)',
        pre_hook=[
            "{% if is_incremental() %}delete from {{ this }} where {{ interval_dates_condition('created_date') }}{% endif %}"
        ],
    )
}}

-- First-answer SLA per regional day, sector and municipality (the contract read by Superset).
-- Incremental per DAG interval: the days of the interval are deleted and rebuilt, so re-running an
-- interval replaces its figures; the pre-hook also drops groups that no longer have appeals.

with

appeals as (

    select * from {{ ref('int_appeals_sla_evaluated') }}
    {% if is_incremental() %}
    where {{ interval_dates_condition('created_date') }}
    {% else %}
    where created_date <= toDate({{ interval_end() }} - toIntervalMillisecond(1), {{ region_tz() }})
    {% endif %}

),

sectors as (

    select
        sector_code,
        any(sector_name_ru) as sector_name_ru
    from {{ ref('subcategories') }}
    group by sector_code

),

municipalities as (

    select
        municipality_code,
        municipality_name_ru
    from {{ ref('municipalities') }}

),

daily as (

    select
        created_date,
        sector,
        municipality_code,
        count() as appeals_total,
        countIf(is_answered) as answered_total,
        countIf(is_answered_on_time) as answered_on_time,
        countIf(is_overdue) as overdue_total
    from appeals
    group by created_date, sector, municipality_code

),

final as (

    select
        daily.created_date as created_date,
        daily.sector as sector,
        sectors.sector_name_ru as sector_name_ru,
        daily.municipality_code as municipality_code,
        municipalities.municipality_name_ru as municipality_name_ru,
        daily.appeals_total as appeals_total,
        daily.answered_total as answered_total,
        daily.answered_on_time as answered_on_time,
        daily.overdue_total as overdue_total,
        round(100 * daily.answered_on_time / daily.appeals_total, 1) as sla_compliance_pct
    from daily
    left join sectors on daily.sector = sectors.sector_code
    left join municipalities on daily.municipality_code = municipalities.municipality_code

)

select * from final
