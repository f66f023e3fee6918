{#- `value comparator threshold` as a boolean, comparator one of > >= < <= = (a column or a literal). NULL when
    either side is NULL, so callers decide what missing data means. -#}
{% macro gate_compare(value, comparator, threshold) -%}
    (case {{ comparator }}
        when '>' then {{ value }} > {{ threshold }}
        when '>=' then {{ value }} >= {{ threshold }}
        when '<' then {{ value }} < {{ threshold }}
        when '<=' then {{ value }} <= {{ threshold }}
        when '=' then {{ value }} = {{ threshold }}
    end)
{%- endmacro %}
