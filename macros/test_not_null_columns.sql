{#- Generic data test: none of `columns` is NULL; one row per column that has NULLs, with how many. The gate's
    input checks (the staging models and raw.events, tagged gate_input) run every 15 minutes, and dbt's cost there is
    per test node, not per row: one test per relation reading it once, instead of one per column (selectors.yml). -#}
{% test not_null_columns(model, columns) %}
with counted as (

    select
    {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as null_rows_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}

)

{% for column in columns -%}
select '{{ column }}' as column_name, null_rows_{{ loop.index }} as null_rows
from counted
where null_rows_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{% endfor %}
{% endtest %}
