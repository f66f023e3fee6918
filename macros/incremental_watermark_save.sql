{#- Post-hook: record what the model has now accounted for (see incremental_watermark_relation). -#}
{% macro incremental_watermark_save(events) -%}
    create or replace table {{ incremental_watermark_relation() }} as
    select
        max(loaded_at) as loaded_through,
        count(*) as events_seen,
        current_timestamp as saved_at
    from {{ events }}
{%- endmacro %}
