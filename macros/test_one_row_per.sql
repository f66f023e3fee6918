{#- Generic data test: the model has at most one row per combination of `columns` (its grain). -#}
{% test one_row_per(model, columns) %}
select {{ columns | join(', ') }}, count(*) as rows_per_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
