{#-
    A select-list expression that expands a row into one row per integer from `first` to `last`, both included
    (none when last < first).
-#}
{% macro integer_series(first, last) -%}
    {{ return(adapter.dispatch('integer_series', 'rollout')(first, last)) }}
{%- endmacro %}

{% macro default__integer_series(first, last) -%}
    generate_series({{ first }}, {{ last }})
{%- endmacro %}

{% macro duckdb__integer_series(first, last) -%}
    unnest(range({{ first }}, ({{ last }}) + 1))
{%- endmacro %}

{% macro spark__integer_series(first, last) -%}
    explode(
        case when ({{ last }}) >= ({{ first }}) then sequence({{ first }}, {{ last }}) else cast(array() as array<bigint>) end
    )
{%- endmacro %}
