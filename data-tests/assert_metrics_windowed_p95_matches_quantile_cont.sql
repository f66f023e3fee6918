-- Regression check of the fast exact p95 (duckdb__windowed_quantile_cont) against its definition,
-- quantile_cont over the window's saves (default__windowed_quantile_cont), at the first and the last evaluation
-- time of every phase. Returns rows whose sample count differs or whose value differs by more than 1e-9 relative.
{%- set windows = metric_windows() %}

with

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

events as (

    select * from {{ ref('int_telemetry_events_parsed') }}

),

phase_flags as (

    select * from {{ ref('phase_flags') }}

),

checked_points as (

    select distinct
        phase_flags.phase_order as phase_id,
        {{ time_bucket_index('edges.eval_at', 15) }} as eval_index
    from (
        select phase, min(eval_at) as eval_at from metrics_windowed
        group by phase
        union all
        select phase, max(eval_at) as eval_at from metrics_windowed
        group by phase
    ) as edges
    inner join phase_flags
        on phase_flags.phase = edges.phase

),

save_durations as (

    select
        phase_flags.phase_order as phase_id,
        {{ time_bucket_index('events.event_at', 15) }} as bucket_index,
        events.duration_ms as value
    from events
    inner join phase_flags
        on phase_flags.phase = events.phase
    where events.event_name = 'autosave.save.completed'

),

reference as (

    select * from {{ default__windowed_quantile_cont('save_durations', 'checked_points', 0.95, windows) }}

),

mart as (

    select
        phase_flags.phase_order as phase_id,
        {{ time_bucket_index('metrics_windowed.eval_at', 15) }} as eval_index,
        metrics_windowed.{{ adapter.quote('window') }} as window_name,
        metrics_windowed.sample_count,
        metrics_windowed.value
    from metrics_windowed
    inner join phase_flags
        on phase_flags.phase = metrics_windowed.phase
    inner join checked_points
        on checked_points.phase_id = phase_flags.phase_order
        and checked_points.eval_index = {{ time_bucket_index('metrics_windowed.eval_at', 15) }}
    where metrics_windowed.metric = 'autosave_p95'

)

select
    mart.phase_id,
    mart.eval_index,
    mart.window_name,
    mart.sample_count,
    reference.sample_count as reference_sample_count,
    mart.value,
    reference.value as reference_value
from mart
left join reference
    on reference.phase_id = mart.phase_id
    and reference.eval_index = mart.eval_index
    and reference.window_name = mart.window_name
where mart.sample_count <> coalesce(reference.sample_count, 0)
    or abs(mart.value - reference.value) > 1e-9 * abs(reference.value)
