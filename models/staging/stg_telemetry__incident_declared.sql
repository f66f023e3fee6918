-- incident.declared: one row per declared incident.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'incident.declared'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {'severity': 'varchar', 'incident_id': 'varchar'}) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as declared_at,
        fields.severity as severity,
        fields.incident_id as incident_id,
        load_id,
        loaded_at
    from parsed

)

select * from final
