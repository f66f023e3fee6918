-- autosave.save.completed: one row per save, typed (an integer written as 1.0 reads as 1).
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'autosave.save.completed'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {
            'duration_ms': 'double', 'retry_count': 'bigint', 'bytes': 'bigint', 'cohort': 'varchar'
        }) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as saved_at,
        fields.duration_ms as duration_ms,
        fields.retry_count as retry_count,
        fields.bytes as bytes_written,
        fields.retry_count > 0 as has_retried,
        -- the optional cohort (a control group running at the same time); absent means treatment
        coalesce(fields.cohort, 'treatment') as cohort,
        load_id,
        loaded_at
    from parsed

)

select * from final
