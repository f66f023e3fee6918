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

{#- Spark's from_json reads 1.0 as NULL for an integral type: parse integers as double, then cast them inside one
    transform over the parsed struct, so that the payload is still parsed once per row. -#}
{% macro spark__json_fields(column, fields) -%}
    {%- set parsed_types = {'varchar': 'string', 'bigint': 'double'} -%}
    transform(
        array(from_json({{ column }}, '{% for name, type in fields.items() %}`{{ name }}` {{ parsed_types.get(type, type) }}{{ ", " if not loop.last }}{% endfor %}')),
        parsed -> named_struct(
            {%- for name, type in fields.items() %}
            '{{ name }}', {% if type == 'bigint' %}cast(parsed.`{{ name }}` as bigint){% else %}parsed.`{{ name }}`{% endif %}{{ "," if not loop.last }}
            {%- endfor %}
        )
    )[0]
{%- endmacro %}
