{#- A pre-hook of the incremental marts (dbt_project.yml). insert_overwrite moves each new partition in
    with REPLACE PARTITION, which ClickHouse refuses between tables of different partition keys or
    sorting keys ("Tables have different partition key"): after a change of a model's partition_by or
    order_by, its next incremental run would fail until someone passed --full-refresh, and a full refresh
    inside a DAG run (an interval set) would rebuild only the interval's days. So when the existing
    table's keys (system.tables) differ from the model's config, its rows are copied into a table made
    with the model's config (dbt-clickhouse's own DDL) and the two are exchanged, atomically: the history
    is kept, readers never see a missing table, and the run continues as the incremental it was. -#}
{% macro rebuild_on_layout_change() %}
    {%- if execute and is_incremental() -%}
        {%- set actual = run_query(
            "select partition_key, sorting_key from system.tables where database = '"
            ~ this.schema ~ "' and name = '" ~ this.identifier ~ "'"
        ).rows[0] -%}
        {%- set wanted = (layout_key(partition_cols('')), layout_key(order_cols(''))) -%}
        {%- set found = (layout_key(actual[0]), layout_key(actual[1])) -%}
        {%- if found != wanted -%}
            {{ log("rebuild_on_layout_change: " ~ this ~ " has partition key " ~ found[0] ~ ", sorting key "
                ~ found[1] ~ "; the model wants " ~ wanted[0] ~ ", " ~ wanted[1] ~ ": its rows are copied into"
                ~ " a table of the model's layout", info=true) }}
            {%- set relayout = this.incorporate(path={"identifier": this.identifier ~ "__dbt_relayout"}, type="table") -%}
            {%- do adapter.drop_relation(relayout) -%}
            {%- call statement('relayout') -%}
                {{ get_create_table_as_sql(False, relayout, "select * from " ~ this) }}
            {%- endcall -%}
            {%- do exchange_tables_atomic(relayout, this) -%}
            {%- do adapter.drop_relation(relayout) -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- A partition or sorting key as a comparable string: no spaces or quotes, no enclosing parentheses
    (dbt-clickhouse writes `partition by (created_date)`, system.tables shows `created_date`). -#}
{% macro layout_key(expression) %}
    {%- set text = (expression or '') | replace(' ', '') | replace('\n', '') | replace('`', '') -%}
    {%- set state = namespace(text=text) -%}
    {%- for _ in range(3) -%}
        {%- if state.text.startswith('(') and state.text.endswith(')') and encloses(state.text) -%}
            {%- set state.text = state.text[1:-1] -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(state.text) -}}
{% endmacro %}

{#- Whether the first parenthesis of `text` closes at its last character: `(a, b)`, not `(a) + (b)`. -#}
{% macro encloses(text) %}
    {%- set state = namespace(depth=0, closed_early=false) -%}
    {%- for char in text -%}
        {%- if char == '(' -%}
            {%- set state.depth = state.depth + 1 -%}
        {%- elif char == ')' -%}
            {%- set state.depth = state.depth - 1 -%}
            {%- if state.depth == 0 and not loop.last -%}
                {%- set state.closed_early = true -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(not state.closed_early) -}}
{% endmacro %}
