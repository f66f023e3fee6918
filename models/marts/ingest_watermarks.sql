-- One row per feature: the ingest's watermark as of this build, its allowed lateness and the latest grid time it
-- makes final. The gate's finality (marts.gate_verdicts) reads the same rows.
with

watermarks as (

    select * from {{ ref('int_watermarks_resolved') }}

),

final as (

    select
        feature,
        watermark_at,
        watermark_updated_at,
        allowed_lateness_minutes,
        is_finality_stream,
        final_until
    from watermarks

)

select * from final
