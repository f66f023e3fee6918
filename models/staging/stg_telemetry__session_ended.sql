-- app.session.ended: one row per ended app session.
with

source as (

    select * from {{ source('raw', 'events') }}
    where event = 'app.session.ended'

),

parsed as (

    select
        *,
        {{ json_fields('payload', {'crashed': 'boolean'}) }} as fields
    from source

),

final as (

    select
        event_id,
        phase,
        feature,
        event_at as ended_at,
        fields.crashed as is_crashed,
        load_id,
        loaded_at
    from parsed

)

select * from final
