-- autosave.restore.result: one row per restore attempt and its outcome.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'autosave.restore.result'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {
            'success': 'boolean', 'source': 'varchar', 'duration_ms': 'double', 'retryable': 'boolean',
            'cohort': 'varchar'
        }) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as restored_at,
        fields.success as is_success,
        fields.source as restore_source,
        fields.duration_ms as duration_ms,
        fields.retryable as is_retryable,
        -- the optional cohort (a control group running at the same time); absent means treatment
        coalesce(fields.cohort, 'treatment') as cohort,
        load_id,
        loaded_at
    from parsed

)

select * from final
