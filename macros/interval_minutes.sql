{#- An interval of `minutes` minutes (a bigint expression), to add to or subtract from a timestamp. -#}
{% macro interval_minutes(minutes) -%}
    {{ return(adapter.dispatch('interval_minutes', 'rollout')(minutes)) }}
{%- endmacro %}

{% macro default__interval_minutes(minutes) -%}
    to_minutes({{ minutes }})
{%- endmacro %}

{% macro spark__interval_minutes(minutes) -%}
    make_dt_interval(0, 0, {{ minutes }})
{%- endmacro %}
