{{
    config(
        materialized=incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key=['phase', 'eval_at'],
        on_schema_change='fail',
        pre_hook="{{ incremental_watermark_reset(ref('int_telemetry_events_parsed')) }}",
        post_hook="{{ incremental_watermark_save(ref('int_telemetry_events_parsed')) }}",
    )
}}
{#-
    SPEC §5: one row per (phase, T on the phase's 15-minute grid, metric, dimension, window).

    Incremental: a run recomputes only the evaluation points whose windows hold an event loaded since the last
    run, plus the points the grid gained; delete+insert replaces their rows. Everything else is untouched, so a
    run equals a full rebuild (tests/unit/test_metrics_incremental.py holds it to that, bit for bit).
-#}
{%- set bucket_minutes = 15 -%}
{%- set windows = metric_windows() -%}
{%- set longest = windows | map(attribute='buckets') | max -%}

with

events as (

    select * from {{ ref('int_telemetry_events_parsed') }}

),

-- the events this run has to account for: all of them on a full build; on an incremental run those loaded since
-- the last run (all again when the source was rewritten, see incremental_watermark_*). A CTE of its own, so that
-- the one above is read once, in scoped_events, and never held in full.
new_events as (

    select phase, event_at from {{ ref('int_telemetry_events_parsed') }}
    {%- if is_incremental() %}
    where loaded_at > {{ incremental_watermark_since(ref('int_telemetry_events_parsed')) }}
    {%- endif %}

),

phase_flags as (

    select * from {{ ref('phase_flags') }}

),

metric_catalog as (

    select * from {{ ref('metric_catalog') }}

),

metric_windows as (

    -- the alias only names the columns (sqlfluff's AL05 takes it for unused)
    select * from (
        values
        {%- for window in windows %}
        ({{ loop.index0 }}, '{{ window.name }}', {{ window.buckets }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as metric_windows (window_id, window_name, window_buckets)  -- noqa: AL05

),

changed_buckets as (

    select distinct
        phase,
        {{ time_bucket_index('event_at', bucket_minutes) }} as bucket_index
    from new_events

),

-- each phase's grid as built so far, in bucket numbers of T
previous_grids as (

    {% if is_incremental() %}
    select
        phase,
        min({{ time_bucket_index('eval_at', bucket_minutes) }}) as first_eval_index,
        max({{ time_bucket_index('eval_at', bucket_minutes) }}) as last_eval_index
    from {{ this }}
    group by phase
    {% else %}
    select
        cast(null as string) as phase,
        cast(null as bigint) as first_eval_index,
        cast(null as bigint) as last_eval_index
    where false
    {% endif %}

),

-- P's grid runs from floor15(first event) + 15 min to floor15(last event) + 15 min; events are only ever added,
-- so the bounds are those of the previous grid and of the changed buckets together
grids as (

    select
        phase,
        min(first_eval_index) as first_eval_index,
        max(last_eval_index) as last_eval_index
    from (
        select phase, first_eval_index, last_eval_index from previous_grids
        union all
        select phase, bucket_index + 1 as first_eval_index, bucket_index + 1 as last_eval_index from changed_buckets
    ) as bounds
    group by phase

),

-- the evaluation points to (re)compute: every point the grid gained, and on an incremental run every point whose
-- windows hold a changed bucket (an event at t is in the windows of T in (t, t + longest window])
points as (

    select
        grids.phase,
        {{ integer_series(
            'grids.first_eval_index', 'coalesce(previous_grids.first_eval_index, grids.last_eval_index + 1) - 1'
        ) }} as eval_index
    from grids
    left join previous_grids on previous_grids.phase = grids.phase
    union all
    select
        grids.phase,
        {{ integer_series(
            'coalesce(previous_grids.last_eval_index, grids.last_eval_index) + 1', 'grids.last_eval_index'
        ) }} as eval_index
    from grids
    left join previous_grids on previous_grids.phase = grids.phase
    {%- if is_incremental() %}
    union all
    select
        phase,
        {{ integer_series('bucket_index + 1', 'bucket_index + ' ~ longest) }} as eval_index
    from changed_buckets
    {%- endif %}

),

-- those points within the grid, with the phase's id
targets as (

    select distinct
        grids.phase,
        phase_flags.phase_order as phase_id,
        points.eval_index
    from points
    inner join grids
        on grids.phase = points.phase
        and points.eval_index between grids.first_eval_index and grids.last_eval_index
    inner join phase_flags
        on phase_flags.phase = grids.phase

),

-- the buckets those points' windows cover: only events in them are read
scopes as (

    select
        phase,
        min(eval_index) - {{ longest }} as first_bucket,
        max(eval_index) - 1 as last_bucket,
        {{ time_bucket_start('min(eval_index) - ' ~ longest, bucket_minutes) }} as scope_start,
        {{ time_bucket_start('max(eval_index)', bucket_minutes) }} as scope_end
    from targets
    group by phase

),

scoped_events as (

    select
        events.*,
        {{ time_bucket_index('events.event_at', bucket_minutes) }} as bucket_index
    from events
    inner join scopes
        on scopes.phase = events.phase
        and scopes.scope_start <= events.event_at
        and scopes.scope_end > events.event_at

),

save_durations as (

    select
        phase_flags.phase_order as phase_id,
        scoped_events.bucket_index,
        scoped_events.duration_ms as value
    from scoped_events
    inner join phase_flags
        on phase_flags.phase = scoped_events.phase
    where scoped_events.event_name = 'autosave.save.completed'

),

p95_values as (

    select * from {{ windowed_quantile_cont('save_durations', 'targets', 0.95, windows) }}

),

-- rates and counts, step 1: per bucket, the events of each type and slice, and how many of them hit
-- (one pass over the events; the rows below are few)
event_bucket_counts as (

    select
        phase,
        bucket_index,
        event_name,
        event_slice,
        count(*) as events,
        count(*) filter (where is_hit) as hits
    from scoped_events
    where
        event_name in (
            'autosave.save.completed', 'autosave.restore.result', 'autosave.lock.error',
            'merge.diff.apply', 'app.session.ended', 'bug.reported'
        )
    group by phase, bucket_index, event_name, event_slice

),

-- step 2: samples and hits per (metric, dimension) and bucket (a count's value is its samples)
rate_bucket_counts as (

    select
        event_bucket_counts.phase,
        metric_events.metric,
        case
            when metric_events.by_slice then event_bucket_counts.event_slice
            else metric_events.dimension
        end as dimension,
        event_bucket_counts.bucket_index,
        sum(event_bucket_counts.events) as samples,
        sum(event_bucket_counts.hits) as hits
    from event_bucket_counts
    inner join (
        values
        ('autosave.save.completed', 'autosave_retry_rate', 'all', false, null),
        ('autosave.restore.result', 'restore_success_rate', 'overall', false, null),
        ('autosave.restore.result', 'restore_success_rate', null, true, null),
        ('autosave.lock.error', 'lock_error_count', 'all', false, null),
        ('autosave.lock.error', 'lock_error_count', null, true, null),
        ('merge.diff.apply', 'merge_auto_success_rate', 'overall', false, null),
        ('merge.diff.apply', 'merge_auto_success_rate', null, true, null),
        ('app.session.ended', 'crash_rate', 'all', false, null),
        ('bug.reported', 'critical_bug_count', 'all', false, 'critical')
    ) as metric_events (event_name, metric, dimension, by_slice, only_slice)
        on metric_events.event_name = event_bucket_counts.event_name
        and (metric_events.only_slice is null or metric_events.only_slice = event_bucket_counts.event_slice)
    -- by position: the third key is the case expression above
    group by 1, 2, 3, 4  -- noqa: AM06

),

-- every (phase, metric, dimension) on a dense bucket axis, so that a window's sum is a difference of running sums
rate_dense as (

    select
        buckets.phase,
        metric_catalog.metric,
        metric_catalog.dimension,
        buckets.bucket_index,
        coalesce(rate_bucket_counts.samples, 0) as samples,
        coalesce(rate_bucket_counts.hits, 0) as hits
    from (
        select phase, {{ integer_series('first_bucket', 'last_bucket') }} as bucket_index
        from scopes
    ) as buckets
    cross join metric_catalog
    left join rate_bucket_counts
        on rate_bucket_counts.phase = buckets.phase
        and rate_bucket_counts.metric = metric_catalog.metric
        and rate_bucket_counts.dimension = metric_catalog.dimension
        and rate_bucket_counts.bucket_index = buckets.bucket_index
    where metric_catalog.kind in ('rate', 'count')

),

rate_running as (

    select
        *,
        sum(samples) over (
            partition by phase, metric, dimension order by bucket_index rows unbounded preceding
        ) as samples_through,
        sum(hits) over (
            partition by phase, metric, dimension order by bucket_index rows unbounded preceding
        ) as hits_through
    from rate_dense

),

rate_windowed as (

    select
        phase,
        metric,
        dimension,
        {%- for window in windows %}
        samples_through - lag(samples_through, {{ window.buckets }}, 0) over (
            partition by phase, metric, dimension order by bucket_index
        ) as samples_{{ loop.index0 }},
        hits_through - lag(hits_through, {{ window.buckets }}, 0) over (
            partition by phase, metric, dimension order by bucket_index
        ) as hits_{{ loop.index0 }},
        {%- endfor %}
        bucket_index + 1 as eval_index
    from rate_running

),

rate_values as (

    select
        rate_windowed.phase,
        rate_windowed.eval_index,
        rate_windowed.metric,
        rate_windowed.dimension,
        metric_windows.window_name,
        case metric_windows.window_id
            {%- for window in windows %}
            when {{ loop.index0 }} then rate_windowed.samples_{{ loop.index0 }}
            {%- endfor %}
        end as samples,
        case metric_windows.window_id
            {%- for window in windows %}
            when {{ loop.index0 }} then rate_windowed.hits_{{ loop.index0 }}
            {%- endfor %}
        end as hits
    from rate_windowed
    inner join targets
        on targets.phase = rate_windowed.phase
        and targets.eval_index = rate_windowed.eval_index
    cross join metric_windows

),

final as (

    select
        {{ time_bucket_start('targets.eval_index', bucket_minutes) }} as eval_at,
        targets.phase,
        metric_catalog.feature,
        metric_catalog.metric,
        metric_catalog.dimension,
        metric_windows.window_name as {{ adapter.quote('window') }},
        cast(case metric_catalog.kind
            when 'quantile' then p95_values.value
            when 'rate' then cast(rate_values.hits as double) / nullif(rate_values.samples, 0)
            when 'count' then coalesce(rate_values.samples, 0)
        end as double) as value,
        cast(coalesce(case metric_catalog.kind
            when 'quantile' then p95_values.sample_count
            else rate_values.samples
        end, 0) as bigint) as sample_count
    from targets
    cross join metric_catalog
    cross join metric_windows
    left join p95_values
        on metric_catalog.kind = 'quantile'
        and p95_values.phase_id = targets.phase_id
        and p95_values.eval_index = targets.eval_index
        and p95_values.window_name = metric_windows.window_name
    left join rate_values
        on metric_catalog.kind in ('rate', 'count')
        and rate_values.phase = targets.phase
        and rate_values.eval_index = targets.eval_index
        and rate_values.metric = metric_catalog.metric
        and rate_values.dimension = metric_catalog.dimension
        and rate_values.window_name = metric_windows.window_name

)

select * from final
