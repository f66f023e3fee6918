{#- Generic data test: the model has at most one row per combination of `columns` (its grain). A column written
    with double quotes ('"window"') is quoted for the target (backticks on Spark, where "…" is a string). -#}
{% test one_row_per(model, columns) %}
{%- set quoted = [] -%}
{%- for column in columns -%}
    {%- do quoted.append(adapter.quote(column[1:-1]) if column.startswith('"') and column.endswith('"') else column) -%}
{%- endfor -%}
select {{ quoted | join(', ') }}, count(*) as rows_per_key
from {{ model }}
group by {{ quoted | join(', ') }}
having count(*) > 1
{% endtest %}
