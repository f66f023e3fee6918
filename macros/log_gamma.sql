{#- ln Γ(z) for z > 0. DuckDB has lgamma; elsewhere Stirling's series after shifting z up by 6 (Γ(z) = Γ(z + 6) /
    (z (z + 1) … (z + 5))), whose first omitted term is below 1e-10 for z + 6 ≥ 6. -#}
{% macro log_gamma(z) -%}
    {{ return(adapter.dispatch('log_gamma', 'rollout')(z)) }}
{%- endmacro %}

{% macro default__log_gamma(z) -%}
    (
        (({{ z }}) + 5.5) * ln(({{ z }}) + 6.0) - (({{ z }}) + 6.0) + 0.9189385332046728
        + 1.0 / (12.0 * (({{ z }}) + 6.0)) - 1.0 / (360.0 * power(({{ z }}) + 6.0, 3))
        + 1.0 / (1260.0 * power(({{ z }}) + 6.0, 5)) - 1.0 / (1680.0 * power(({{ z }}) + 6.0, 7))
        - ln(({{ z }}) * (({{ z }}) + 1.0) * (({{ z }}) + 2.0) * (({{ z }}) + 3.0) * (({{ z }}) + 4.0) * (({{ z }}) + 5.0))
    )
{%- endmacro %}

{% macro duckdb__log_gamma(z) -%}
    lgamma({{ z }})
{%- endmacro %}
