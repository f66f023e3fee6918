{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ incremental_watermark_reset(ref('stg_telemetry__events')) }}",
        post_hook="{{ incremental_watermark_save(ref('stg_telemetry__events')) }}",
    )
}}
-- Every event once, with the typed fields the windowed metrics read, parsed from its payload once: a build appends
-- only the events loaded since the previous one, so a 15-minute cycle parses minutes of JSON, not days.
-- Incremental (append) with a watermark: see the incremental_watermark_* macros.
{%- set is_new = "loaded_at > (select loaded_after from loaded_since)" if is_incremental() else "true" %}

with

events as (

    select * from {{ ref('stg_telemetry__events') }}

),

saves as (

    select * from {{ ref('stg_telemetry__save_completed') }}

),

restores as (

    select * from {{ ref('stg_telemetry__restore_result') }}

),

lock_errors as (

    select * from {{ ref('stg_telemetry__lock_error') }}

),

diff_applies as (

    select * from {{ ref('stg_telemetry__diff_apply') }}

),

sessions as (

    select * from {{ ref('stg_telemetry__session_ended') }}

),

bug_reports as (

    select * from {{ ref('stg_telemetry__bug_reported') }}

),

-- rows loaded after this are new to this model (-infinity on a full build, or when raw.events was rewritten); read
-- through is_new on incremental runs only, so a full build (what sqlfluff renders) leaves it unused
loaded_since as (  -- noqa: ST03

    select {{ incremental_watermark_since(ref('stg_telemetry__events')) }} as loaded_after

),

-- events of types the metrics do not read still count for the evaluation grid
other_events as (

    select * from events
    where
        event_name not in (
            'autosave.save.completed', 'autosave.restore.result', 'autosave.lock.error',
            'merge.diff.apply', 'app.session.ended', 'bug.reported'
        )

),

-- one shape for every type (a control cohort's event keeps its place in the evaluation grid under a name of its own,
-- `<event>:control`, which no metric reads: the seed's metrics are the treatment's; marts.metric_control_comparisons
-- compares the two); is_hit is what the event's rate counts (a retry, a successful restore, an
-- auto-accepted diff, a crash), slice is the field its metric is broken down by (restore source, merge precision,
-- lock error retryability, bug severity)
unioned as (

    select
        case
            when cohort = 'control' then 'autosave.save.completed:control' else 'autosave.save.completed'
        end as event_name,
        phase,
        saved_at as event_at,
        loaded_at,
        duration_ms,
        has_retried as is_hit,
        cast(null as string) as event_slice
    from saves
    where {{ is_new }}

    union all

    select
        case
            when cohort = 'control' then 'autosave.restore.result:control' else 'autosave.restore.result'
        end as event_name,
        phase,
        restored_at as event_at,
        loaded_at,
        null as duration_ms,
        is_success as is_hit,
        restore_source as event_slice
    from restores
    where {{ is_new }}

    union all

    select
        'autosave.lock.error' as event_name,
        phase,
        errored_at as event_at,
        loaded_at,
        null as duration_ms,
        null as is_hit,
        case when is_retryable then 'retryable' else 'non_retryable' end as event_slice
    from lock_errors
    where {{ is_new }}

    union all

    select
        case
            when cohort = 'control' then 'merge.diff.apply:control' else 'merge.diff.apply'
        end as event_name,
        phase,
        applied_at as event_at,
        loaded_at,
        null as duration_ms,
        is_auto_accepted as is_hit,
        merge_precision as event_slice
    from diff_applies
    where {{ is_new }}

    union all

    select
        'app.session.ended' as event_name,
        phase,
        ended_at as event_at,
        loaded_at,
        null as duration_ms,
        is_crashed as is_hit,
        null as event_slice
    from sessions
    where {{ is_new }}

    union all

    select
        'bug.reported' as event_name,
        phase,
        reported_at as event_at,
        loaded_at,
        null as duration_ms,
        null as is_hit,
        severity as event_slice
    from bug_reports
    where {{ is_new }}

    union all

    select
        event_name,
        phase,
        event_at,
        loaded_at,
        null as duration_ms,
        null as is_hit,
        null as event_slice
    from other_events
    where {{ is_new }}

),

final as (

    select
        event_name,
        phase,
        event_at,
        cast(duration_ms as double) as duration_ms,
        cast(is_hit as boolean) as is_hit,
        cast(event_slice as string) as event_slice,
        loaded_at
    from unioned

)

select * from final
