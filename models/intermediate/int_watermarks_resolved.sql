-- Per feature: its watermark (the latest event time loaded), its allowed lateness, and the latest grid time the
-- watermark makes final (watermark - lateness): a grid time T is final once watermark >= T + lateness.
with

watermarks as (

    select * from {{ ref('stg_ingest__watermarks') }}

),

events as (

    select * from {{ ref('stg_telemetry__events') }}

),

watermark_lateness as (

    select * from {{ ref('watermark_lateness') }}

),

-- rows that reached raw.events without the loader (a backfill, a test) still count as seen
observed as (

    select
        feature,
        max(event_at) as max_event_at
    from events
    group by feature

),

features as (

    select feature from observed
    union
    select feature from watermarks

),

final as (

    select
        features.feature,
        greatest(watermarks.max_event_at, observed.max_event_at) as watermark_at,
        watermarks.updated_at as watermark_updated_at,
        watermark_lateness.allowed_lateness_minutes,
        -- a feature the seed does not list never holds finality back
        coalesce(watermark_lateness.is_finality_stream, false) as is_finality_stream,
        greatest(watermarks.max_event_at, observed.max_event_at)
        - {{ interval_minutes(
            'cast(coalesce(watermark_lateness.allowed_lateness_minutes, 0) as bigint)'
        ) }} as final_until
    from features
    left join watermarks
        on watermarks.feature = features.feature
    left join observed
        on observed.feature = features.feature
    left join watermark_lateness
        on watermark_lateness.feature = features.feature

)

select * from final
