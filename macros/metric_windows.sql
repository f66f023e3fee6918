{#-
    The metric windows of SPEC §5 as data for the models: name and length in 15-minute buckets. A window of
    length W evaluated at T holds the events with T - W <= time < T, i.e. the `buckets` whole buckets before T.
-#}
{% macro metric_windows() -%}
    {{ return([
        {'name': '1h', 'buckets': 4},
        {'name': '24h', 'buckets': 96},
        {'name': '7d', 'buckets': 672},
    ]) }}
{%- endmacro %}
