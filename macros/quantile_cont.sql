{#-
    Exact continuous quantile of `expression` at fraction `quantile` (an aggregate): linear interpolation between
    the order statistics floor((n - 1) q) and ceil((n - 1) q), the same as numpy.percentile's default.
    DuckDB calls it quantile_cont; Spark calls it percentile (exact; percentile_approx is not).
-#}
{% macro quantile_cont(expression, quantile) -%}
    {{ return(adapter.dispatch('quantile_cont', 'rollout')(expression, quantile)) }}
{%- endmacro %}

{% macro default__quantile_cont(expression, quantile) -%}
    quantile_cont({{ expression }}, {{ quantile }})
{%- endmacro %}

{% macro duckdb__quantile_cont(expression, quantile) -%}
    quantile_cont({{ expression }}, {{ quantile }})
{%- endmacro %}

{% macro spark__quantile_cont(expression, quantile) -%}
    percentile({{ expression }}, {{ quantile }})
{%- endmacro %}
