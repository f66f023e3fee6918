{#- The first element of a list (array), NULL when it is empty. -#}
{% macro list_first(list) -%}
    {{ return(adapter.dispatch('list_first', 'rollout')(list)) }}
{%- endmacro %}

{% macro default__list_first(list) -%}
    {{ list }}[1]
{%- endmacro %}

{% macro spark__list_first(list) -%}
    element_at({{ list }}, 1)
{%- endmacro %}
