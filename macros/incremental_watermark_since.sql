{#-
    A SQL scalar: rows of `events` loaded after this instant are new to the model being built — the watermark's
    loaded_through while the watermark still holds (see incremental_watermark_is_valid); otherwise, and on a full
    build, -infinity: every row is new.
-#}
{% macro incremental_watermark_since(events) -%}
    {%- set watermark = incremental_watermark_relation() if execute and is_incremental() else none -%}
    {%- if watermark is not none and adapter.get_relation(database=watermark.database, schema=watermark.schema, identifier=watermark.identifier) is not none -%}
    (
        select
            case
                when {{ incremental_watermark_is_valid(events) }}
                    then coalesce(max(loaded_through), {{ timestamp_infinity(negative=true) }})
                else {{ timestamp_infinity(negative=true) }}
            end
        from {{ watermark }}
    )
    {%- else -%}
    {{ timestamp_infinity(negative=true) }}
    {%- endif -%}
{%- endmacro %}
