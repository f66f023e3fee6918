{#- The length of a metrics window name (1h, 24h, 7d) as an interval. -#}
{% macro window_interval(window_name) -%}
    (case {{ window_name }}
        when '1h' then interval 1 hour
        when '24h' then interval 24 hour
        when '7d' then interval 7 day
    end)
{%- endmacro %}
