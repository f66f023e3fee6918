{#-
    An operation (`dbt run-operation lake_sources --target spark`, which rolloutctl runs before every Spark build):
    on Spark the sources are the Parquet lake (rolloutctl/lake.py), and each folder becomes a view raw.<table>,
    governance.<table> or quality.<table>, so that source() names the same relations on both engines. The lake is
    ROLLOUT_PARQUET_DIR, else <ROLLOUT_HOME>/lake. Does nothing elsewhere (DuckDB holds the tables themselves).
-#}
{% macro lake_sources() -%}
    {{ return(adapter.dispatch('lake_sources', 'rollout')()) }}
{%- endmacro %}

{% macro default__lake_sources() -%}
{%- endmacro %}

{% macro spark__lake_sources() -%}
    {%- if execute -%}
    {%- set lake = env_var('ROLLOUT_PARQUET_DIR', env_var('ROLLOUT_HOME', '.') ~ '/lake') -%}
    {%- set folders = {
        'raw': ['events', 'rejected_events', 'loads', 'watermarks'],
        'governance': ['phase_ledger', 'rca_files'],
        'quality': ['build_test_failures'],
    } -%}
    {%- for schema, tables in folders.items() -%}
        {%- do run_query('create schema if not exists ' ~ schema) -%}
        {%- for table in tables -%}
            {%- set path = lake ~ '/' ~ (table if schema == 'raw' else schema ~ '/' ~ table) -%}
            {%- do run_query('create or replace view ' ~ schema ~ '.' ~ table ~ ' as select * from parquet.`' ~ path ~ '`') -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
