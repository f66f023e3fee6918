{#-
    Pre-hook: when the source was rewritten rather than appended to (the watermark no longer holds), empty the
    model so that the run rebuilds it whole instead of patching rows that may no longer exist.
-#}
{% macro incremental_watermark_reset(events) -%}
    {%- if execute and is_incremental() -%}
    delete from {{ this }} where not {{ incremental_watermark_is_valid(events) }}
    {%- else -%}
    select 1 as nothing_to_reset
    {%- endif -%}
{%- endmacro %}
