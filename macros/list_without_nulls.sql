{#- A list (array) of the given SQL expressions, in order, without the ones that are NULL. -#}
{% macro list_without_nulls(items) -%}
    {{ return(adapter.dispatch('list_without_nulls', 'rollout')(items)) }}
{%- endmacro %}

{% macro default__list_without_nulls(items) -%}
    list_filter(
            [
                {%- for item in items %}
                {{ item }}{{ "," if not loop.last }}
                {%- endfor %}
            ],
            lambda x: x is not null
        )
{%- endmacro %}

{% macro spark__list_without_nulls(items) -%}
    filter(
            array(
                {%- for item in items %}
                {{ item }}{{ "," if not loop.last }}
                {%- endfor %}
            ),
            x -> x is not null
        )
{%- endmacro %}
