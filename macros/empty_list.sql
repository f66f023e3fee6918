{#- An empty list (array) of `element_type` (a DuckDB type name). -#}
{% macro empty_list(element_type='varchar') -%}
    {{ return(adapter.dispatch('empty_list', 'rollout')(element_type)) }}
{%- endmacro %}

{% macro default__empty_list(element_type) -%}
    []
{%- endmacro %}

{% macro spark__empty_list(element_type) -%}
    cast(array() as array<{{ sql_type(element_type) }}>)
{%- endmacro %}
