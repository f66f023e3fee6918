{#-
    The materialization of the models kept up to date incrementally (int_telemetry_events_parsed, metrics_windowed):
    incremental on DuckDB (delete+insert or append, with the incremental_watermark_* macros); a table rebuilt whole
    on Spark, whose Parquet tables take neither delete nor the watermark's create-or-replace (a Delta or Iceberg
    catalog would; a cluster that rebuilds in minutes has no 15-minute cycle to save).
-#}
{% macro incremental_materialization() -%}
    {{ return(adapter.dispatch('incremental_materialization', 'rollout')()) }}
{%- endmacro %}

{% macro default__incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
