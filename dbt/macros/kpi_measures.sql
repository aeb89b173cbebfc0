{#- The additive measures of kpi_daily, in its order: the weekly and monthly views sum exactly these. -#}
{% macro kpi_measures() -%}
    {{ return([
        'appeals_received', 'signals_received', 'problems_new', 'emergency_appeals',
        'first_answer_met', 'first_answer_missed', 'first_answer_due', 'first_answer_pending',
        'resolution_met', 'resolution_missed', 'resolution_due', 'resolution_pending',
        'answerable_appeals', 'returned_appeals', 'reopened_appeals', 'repeat_appeals', 'confirmed_appeals',
        'confirmable_appeals',
        'rated_appeals', 'rating_sum',
    ]) }}
{%- endmacro %}
