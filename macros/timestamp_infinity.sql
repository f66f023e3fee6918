{#-
    A timestamp later (or, with negative=true, earlier) than any event: DuckDB's infinity; on Spark, which has none,
    the last (first) microsecond of its range. Compare with it, never compute with it.
-#}
{% macro timestamp_infinity(negative=false) -%}
    {{ return(adapter.dispatch('timestamp_infinity', 'rollout')(negative)) }}
{%- endmacro %}

{% macro default__timestamp_infinity(negative) -%}
    cast('{{ "-" if negative }}infinity' as timestamptz)
{%- endmacro %}

{% macro duckdb__timestamp_infinity(negative) -%}
    cast('{{ "-" if negative }}infinity' as timestamptz)
{%- endmacro %}

{% macro spark__timestamp_infinity(negative) -%}
    {%- if negative -%}timestamp'0001-01-01 00:00:00'{%- else -%}timestamp'9999-12-31 23:59:59.999999'{%- endif -%}
{%- endmacro %}
