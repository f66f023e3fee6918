{#-
    A SQL boolean for rows of `events` (whose load time is `loaded_at`): the row is new since the model's last
    build — loaded after the watermark — or everything counts as new because the watermark no longer holds
    (see incremental_watermark_is_valid).
-#}
{% macro incremental_watermark_filter(loaded_at, events) -%}
    {%- set watermark = incremental_watermark_relation() if execute and is_incremental() else none -%}
    {%- if watermark is not none and adapter.get_relation(database=watermark.database, schema=watermark.schema, identifier=watermark.identifier) is not none -%}
    (
        {{ loaded_at }} > (select coalesce(max(loaded_through), timestamp with time zone '-infinity') from {{ watermark }})
        or not {{ incremental_watermark_is_valid(events) }}
    )
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}
