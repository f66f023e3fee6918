{#- A date or wall-clock timestamp as text, `format` in strftime's codes (%Y %m %d %H %M %S; other text as is). -#}
{% macro format_time(value, format) -%}
    {{ return(adapter.dispatch('format_time', 'rollout')(value, format)) }}
{%- endmacro %}

{% macro default__format_time(value, format) -%}
    strftime({{ value }}, '{{ format }}')
{%- endmacro %}

{#- Spark's datetime patterns: letters are codes, so literal text is quoted. -#}
{% macro spark__format_time(value, format) -%}
    {%- set codes = {'Y': 'yyyy', 'm': 'MM', 'd': 'dd', 'H': 'HH', 'M': 'mm', 'S': 'ss'} -%}
    {%- set parts = format.split('%') -%}
    {%- set ns = namespace(pattern=("'" ~ parts[0] ~ "'") if parts[0] else '') -%}
    {%- for part in parts[1:] -%}
        {%- set ns.pattern = ns.pattern ~ codes[part[0]] ~ (("'" ~ part[1:] ~ "'") if part[1:] else '') -%}
    {%- endfor -%}
    date_format({{ value }}, "{{ ns.pattern }}")
{%- endmacro %}
