{#-
    quantile_cont(x, q) of `sample_count` values from its two order statistics: `lower` at rank floor((n - 1) q)
    and `upper` at the next rank, interpolated linearly by the fractional part of (n - 1) q (numpy.percentile's
    "linear" method). Plain arithmetic, the same in every dialect; agrees with DuckDB's quantile_cont to the last
    bit or two (DuckDB may fuse the multiply-add).
-#}
{% macro quantile_cont_interpolate(lower, upper, sample_count, quantile) -%}
    {%- set position = "cast((" ~ sample_count ~ ") - 1 as double) * " ~ quantile -%}
    (({{ lower }}) + (({{ upper }}) - ({{ lower }})) * ({{ position }} - floor({{ position }})))
{%- endmacro %}
