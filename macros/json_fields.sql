{#-
    Parse the JSON object in `column` once into a struct with the typed `fields` (an ordered mapping of field name
    to SQL type: 'double', 'bigint', 'boolean', 'varchar'); select them as `<alias>.<field>`. A missing field is NULL.
    Integers written as 1.0 are integers (JSON Schema's rule), so a bigint field reads 1.0 as 1.
-#}
{% macro json_fields(column, fields) -%}
    {{ return(adapter.dispatch('json_fields', 'rollout')(column, fields)) }}
{%- endmacro %}

{% macro default__json_fields(column, fields) -%}
    {{ exceptions.raise_compiler_error("json_fields has no implementation for adapter " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__json_fields(column, fields) -%}
    {%- set spec = {} -%}
    {%- for name, type in fields.items() -%}{%- do spec.update({name: type | upper}) -%}{%- endfor -%}
    json_transform({{ column }}, '{{ tojson(spec) }}')
{%- endmacro %}

{% macro spark__json_fields(column, fields) -%}
    from_json({{ column }}, '{% for name, type in fields.items() %}`{{ name }}` {{ type | replace("varchar", "string") }}{{ ", " if not loop.last }}{% endfor %}')
{%- endmacro %}
