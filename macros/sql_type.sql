{#-
    A column type by its DuckDB name, in the target's dialect: timestamptz (an instant), varchar[] (a list of text).
    Plain text is `string` in both dialects (DuckDB's alias of varchar), so casts to text need no macro.
-#}
{% macro sql_type(name) -%}
    {{ return(adapter.dispatch('sql_type', 'rollout')(name)) }}
{%- endmacro %}

{% macro default__sql_type(name) -%}
    {{ name }}
{%- endmacro %}

{#- Spark's timestamp is an instant shown in the session time zone (UTC here), i.e. DuckDB's timestamptz. -#}
{% macro spark__sql_type(name) -%}
    {{ {'timestamptz': 'timestamp', 'varchar': 'string', 'varchar[]': 'array<string>'}.get(name, name) }}
{%- endmacro %}
