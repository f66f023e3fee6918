-- rollback.executed: one row per executed rollback; phase is the phase rolled back from, the time is the event's
-- timestamp.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'rollback.executed'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {
            'phase_from': 'varchar', 'phase_to': 'varchar', 'trigger_metric': 'varchar', 'executor': 'varchar',
            'reason': 'varchar'
        }) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as executed_at,
        fields.phase_from as phase_from,
        fields.phase_to as phase_to,
        fields.trigger_metric as trigger_metric,
        fields.executor as executor,
        fields.reason as reason,
        load_id,
        loaded_at
    from parsed

)

select * from final
