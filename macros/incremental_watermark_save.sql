{#- Post-hook: record what the model has now accounted for (see incremental_watermark_relation). -#}
{% macro incremental_watermark_save(events) -%}
    {{ return(adapter.dispatch('incremental_watermark_save', 'rollout')(events)) }}
{%- endmacro %}

{% macro default__incremental_watermark_save(events) -%}
    create or replace table {{ incremental_watermark_relation() }} as
    select
        max(loaded_at) as loaded_through,
        count(*) as events_seen,
        current_timestamp as saved_at
    from {{ events }}
{%- endmacro %}

{#- Spark rebuilds these models whole (incremental_materialization): no watermark to keep. -#}
{% macro spark__incremental_watermark_save(events) -%}
    select 1 as no_watermark_kept
{%- endmacro %}
