-- bug.reported: one row per reported bug.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'bug.reported'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {'severity': 'varchar', 'bug_id': 'varchar'}) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as reported_at,
        fields.severity as severity,
        fields.bug_id as bug_id,
        fields.severity = 'critical' as is_critical,
        load_id,
        loaded_at
    from parsed

)

select * from final
