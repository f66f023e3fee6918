{#- The length of a metrics window named in a column (1h, 24h, 7d) as an interval, from metric_windows(). -#}
{% macro window_interval(window_name) -%}
    (case {{ window_name }}
    {%- for window in metric_windows() %}
        when '{{ window.name }}' then interval '{{ window.buckets * 15 }} minutes'
    {%- endfor %}
    end)
{%- endmacro %}
