-- Every loaded event, any type, without its payload: the evaluation grid and change detection read only these columns.
with

source as (

    select * from {{ source('raw', 'events') }}

),

final as (

    select
        event_id,
        event as event_name,
        feature,
        phase,
        event_at,
        line_key,
        source_file,
        line_no,
        load_id,
        loaded_at
    from source

)

select * from final
