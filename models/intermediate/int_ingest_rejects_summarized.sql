-- One row: the lines ingested in the 24 hours up to the latest finished ingest, and how many of them were rejected.
-- The window ends at the latest ingest, not at the build's clock, so the same raw tables always give the same
-- answer (a replay or a backtest of them too). A run that did not finish recorded no counts and is left out.
with

loads as (

    select * from {{ ref('stg_ingest__loads') }}

),

events as (

    select * from {{ ref('stg_telemetry__events') }}

),

finished as (

    select * from loads
    where finished_at is not null

),

latest as (

    select max(finished_at) as checked_through
    from finished

),

-- the last moment the raw tables this build read were written: a replay copies the rows up to it
loaded as (

    select greatest(
        (select max(coalesce(finished_at, started_at)) from loads),
        (select max(loaded_at) from events)
    ) as loaded_through

),

final as (

    select
        latest.checked_through,
        latest.checked_through - interval 24 hour as checked_from,
        coalesce(sum(finished.lines), 0) as ingested_lines,
        coalesce(sum(finished.rejected), 0) as rejected_lines,
        any_value(loaded.loaded_through) as loaded_through
    from latest
    cross join loaded
    left join finished
        on finished.finished_at > latest.checked_through - interval 24 hour
    group by latest.checked_through

)

select * from final
