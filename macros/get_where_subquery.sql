{#-
    dbt's `where` config of a data test (its default: the tested relation filtered by `where`), and the operational
    cycle's data-test scope on top (data_test_scope_filter): a test of a model or source that declares
    `meta: {data_test_scope: …}` checks only the rows the build changed. dbt's own get_where_subquery dispatches
    here first (the root project's default__ comes before dbt's).
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set scope = data_test_scope_filter() -%}
    {%- if scope -%}
        {%- do conditions.append('(' ~ scope ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} as dbt_scope_base where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
