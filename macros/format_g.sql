{#- A number as text the way C's printf('%g') writes it: six significant digits, no trailing zeros, exponent form
    below 1e-4 and from 1e6 (800 → 800, 0.02 → 0.02, 1.5e-05 → 1.5e-05). NULL stays NULL. -#}
{% macro format_g(value) -%}
    {{ return(adapter.dispatch('format_g', 'rollout')(value)) }}
{%- endmacro %}

{% macro default__format_g(value) -%}
    printf('%g', {{ value }})
{%- endmacro %}

{#- Java's %g keeps the trailing zeros C drops (800.000, 1.50000e-05): strip them after the decimal point. -#}
{% macro spark__format_g(value) -%}
    regexp_replace(regexp_replace(format_string('%.6g', cast({{ value }} as double)), '(\\.[0-9]*?)0+(e|$)', '$1$2'), '\\.(e|$)', '$1')
{%- endmacro %}
