-- The ingest's watermark per feature: the latest event time loaded for it (raw.watermarks, kept by the loader).
with

source as (

    select * from {{ source('raw', 'watermarks') }}

),

final as (

    select
        feature,
        max_event_at,
        updated_at
    from source

)

select * from final
