{#- A view, not a table: it reads every save, restore and diff apply of the rollout, which the 15-minute cycle
    (selector gate_cycle_data builds every table) should not pay for until the gate acts on it. -#}
{{ config(materialized='view') }}
-- Issue 16: beside the Wilson intervals of marts.metric_confidence (one window, one look), anytime-valid confidence
-- sequences. For each SLO threshold of metric_thresholds and each grid time T of a phase where it applies: of the
-- events since the phase started (as int_phase_starts_resolved says at T) and before T, how many fell on the
-- breaching side of the critical level (a failed restore, a diff not auto-accepted, a save slower than the p95's
-- level), and whether that share is above the share the threshold allows (1 − the rate's level; 5% for a p95,
-- Howard & Ramdas 2022) with the anytime-valid test of macros/beta_binomial_log_evidence.sql: it errs at most
-- sequence_alpha however often it is read (Wilson, read every 15 minutes, does not).
with

save_completed as (

    select * from {{ ref('stg_telemetry__save_completed') }}
    where cohort = 'treatment'

),

restore_result as (

    select * from {{ ref('stg_telemetry__restore_result') }}
    where cohort = 'treatment'

),

diff_apply as (

    select * from {{ ref('stg_telemetry__diff_apply') }}
    where cohort = 'treatment'

),

metric_thresholds as (

    select * from {{ ref('metric_thresholds') }}

),

phase_flags as (

    select * from {{ ref('phase_flags') }}

),

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

phase_starts as (

    select * from {{ ref('int_phase_starts_resolved') }}

),

-- the three SLO thresholds as streams: the level an event breaches and the breaching share the threshold allows
streams as (

    select
        metric,
        dimension,
        applies_from_phase,
        critical_level as breach_level,
        case when metric = 'autosave_p95' then 0.05 else 1.0 - critical_level end as allowed_share
    from metric_thresholds
    where
        (metric = 'autosave_p95' and dimension = 'all')
        or (metric in ('restore_success_rate', 'merge_auto_success_rate') and dimension = 'overall')

),

breaches as (

    select
        save_completed.phase,
        save_completed.saved_at as event_at,
        streams.metric,
        streams.dimension,
        case when save_completed.duration_ms > streams.breach_level then 1 else 0 end as is_breach
    from save_completed
    inner join streams
        on streams.metric = 'autosave_p95'
    union all
    select
        restore_result.phase,
        restore_result.restored_at as event_at,
        streams.metric,
        streams.dimension,
        case when restore_result.is_success then 0 else 1 end as is_breach
    from restore_result
    inner join streams
        on streams.metric = 'restore_success_rate'
    union all
    select
        diff_apply.phase,
        diff_apply.applied_at as event_at,
        streams.metric,
        streams.dimension,
        case when diff_apply.is_auto_accepted then 0 else 1 end as is_breach
    from diff_apply
    inner join streams
        on streams.metric = 'merge_auto_success_rate'

),

-- every event, grid time and phase start of a stream in time order; at equal times the marks (is_event 0) come
-- first, so the running sums at a mark count the events strictly before it
marks as (

    select
        phase,
        metric,
        dimension,
        event_at as marked_at,
        'event' as mark,
        1 as is_event,
        is_breach
    from breaches
    union all
    select
        eval_times.phase,
        streams.metric,
        streams.dimension,
        eval_times.eval_at as marked_at,
        'grid' as mark,
        0 as is_event,
        0 as is_breach
    from eval_times
    cross join streams
    union all
    select distinct
        phase_starts.phase,
        streams.metric,
        streams.dimension,
        phase_starts.phase_started_at as marked_at,
        'start' as mark,
        0 as is_event,
        0 as is_breach
    from phase_starts
    cross join streams

),

running as (

    select
        phase,
        metric,
        dimension,
        marked_at,
        mark,
        sum(is_event) over (
            partition by phase, metric, dimension
            order by marked_at, is_event
            rows between unbounded preceding and current row
        ) as events_before,
        sum(is_breach) over (
            partition by phase, metric, dimension
            order by marked_at, is_event
            rows between unbounded preceding and current row
        ) as breaches_before
    from marks

),

counted as (

    select
        at_grid.phase,
        at_grid.marked_at as eval_at,
        at_grid.metric,
        at_grid.dimension,
        phase_starts.phase_started_at,
        cast(at_grid.events_before - at_start.events_before as bigint) as sample_count,
        cast(at_grid.breaches_before - at_start.breaches_before as bigint) as breach_count
    from running as at_grid
    inner join phase_starts
        on phase_starts.phase = at_grid.phase
        and phase_starts.eval_at = at_grid.marked_at
    inner join running as at_start
        on at_start.phase = at_grid.phase
        and at_start.metric = at_grid.metric
        and at_start.dimension = at_grid.dimension
        and at_start.marked_at = phase_starts.phase_started_at
        and at_start.mark = 'start'
    where at_grid.mark = 'grid'

),

applicable as (

    select
        counted.*,
        streams.breach_level,
        streams.allowed_share
    from counted
    inner join streams
        on streams.metric = counted.metric
        and streams.dimension = counted.dimension
    inner join phase_flags as metric_phase
        on metric_phase.phase = counted.phase
    inner join phase_flags as first_phase
        on first_phase.phase = streams.applies_from_phase
    where metric_phase.phase_order >= first_phase.phase_order

),

tested as (

    select
        *,
        -- the rule's mixture is centred on its threshold, worth sequence_prior_size events (sequential.py)
        {{ beta_binomial_log_evidence(
            'breach_count', 'sample_count', 'allowed_share',
            var('sequence_prior_size') ~ ' * allowed_share', var('sequence_prior_size') ~ ' * (1.0 - allowed_share)'
        ) }} as log_evidence
    from applicable

),

final as (

    select
        eval_at,
        phase,
        metric,
        dimension,
        phase_started_at,
        breach_level,
        allowed_share,
        sample_count,
        breach_count,
        case when sample_count > 0 then cast(breach_count as double) / sample_count end as breach_share,
        {{ var('sequence_alpha') }} as alpha,
        log_evidence,
        breach_count > allowed_share * sample_count
        and log_evidence >= ln(1.0 / {{ var('sequence_alpha') }}) as is_breach_certain,
        -- sqlfluff does not parse DuckDB's two-argument lambdas (the bisection's list_reduce)
        -- noqa: disable=PRS
        {{ beta_binomial_bound('breach_count', 'sample_count', var('sequence_alpha'), 'lower') }} as lower_bound,
        {{ beta_binomial_bound('breach_count', 'sample_count', var('sequence_alpha'), 'upper') }} as upper_bound
        -- noqa: enable=PRS
    from tested

)

select * from final
