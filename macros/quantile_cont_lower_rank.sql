{#-
    The 0-based rank of the lower order statistic that quantile_cont(x, q) interpolates from, for `sample_count`
    values: floor((n - 1) q). The upper one is the next rank (the same one when the product is whole or n = 1).
-#}
{% macro quantile_cont_lower_rank(sample_count, quantile) -%}
    cast(floor(cast(({{ sample_count }}) - 1 as double) * {{ quantile }}) as bigint)
{%- endmacro %}
