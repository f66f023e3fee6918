-- autosave.lock.error: one row per lock error.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'autosave.lock.error'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {
            'code': 'varchar', 'retryable': 'boolean', 'attempt': 'bigint', 'lease_id': 'varchar'
        }) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as errored_at,
        fields.code as error_code,
        fields.retryable as is_retryable,
        fields.attempt as attempt_number,
        fields.lease_id as lease_id,
        load_id,
        loaded_at
    from parsed

)

select * from final
