{#-
    A SQL boolean: the watermark still describes `events` — every row loaded up to its loaded_through is one the
    model saw, and none of them is gone, i.e. the source was only appended to since. False when there is no
    watermark (or the model is not being built incrementally), so the caller recomputes everything.
-#}
{% macro incremental_watermark_is_valid(events) -%}
    {%- set watermark = incremental_watermark_relation() if execute and is_incremental() else none -%}
    {%- if watermark is not none and adapter.get_relation(database=watermark.database, schema=watermark.schema, identifier=watermark.identifier) is not none -%}
    coalesce((
        select
            (
                select count(*)
                from {{ events }} as seen
                where seen.loaded_at <= watermark.loaded_through
            ) = watermark.events_seen
        from {{ watermark }} as watermark
    ), false)
    {%- else -%}
    false
    {%- endif -%}
{%- endmacro %}
