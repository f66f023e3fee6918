{#-
    Aggregate: the values of `value` in the order of `order_by` as a list (array), of the rows that match `where`
    when given. NULL over no rows on DuckDB, an empty list on Spark: callers coalesce with empty_list().
-#}
{% macro ordered_list(value, order_by, where=none) -%}
    {{ return(adapter.dispatch('ordered_list', 'rollout')(value, order_by, where)) }}
{%- endmacro %}

{% macro default__ordered_list(value, order_by, where) -%}
    list({{ value }} order by {{ order_by }}){% if where %} filter (where {{ where }}){% endif %}
{%- endmacro %}

{#- Spark's collect_list has no order: collect (key, value) pairs, sort them, keep the values. -#}
{% macro spark__ordered_list(value, order_by, where) -%}
    transform(
        array_sort(collect_list(named_struct('k', {{ order_by }}, 'v', {{ value }})){% if where %} filter (where {{ where }}){% endif %}),
        pair -> pair.v
    )
{%- endmacro %}
