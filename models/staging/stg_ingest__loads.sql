-- One row per ingest run with its line counts (raw.loads); a run that did not finish has no counts.
with

source as (

    select * from {{ source('raw', 'loads') }}

),

final as (

    select
        load_id,
        started_at,
        finished_at,
        files,
        lines,
        loaded,
        rejected,
        duplicates,
        pending_partial,
        max_event_at
    from source

)

select * from final
