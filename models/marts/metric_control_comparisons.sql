{#- A view, as marts.metric_confidence_sequences: it reads every save, restore and diff apply of the rollout. -#}
{{ config(materialized='view') }}
-- Issue 16, item 5: where events carry a cohort and both a treatment and a control are present, is the treatment
-- worse than the control running at the same time? One row per SLO metric and grid time T of a phase where the
-- metric applies, counting the events since the phase started (15-minute buckets that start at or after the phase's
-- start and end by T), with an anytime-valid two-sample test at control_sequence_alpha
-- (rolloutctl/decision/sequential.py is the reference, STATISTICS.md the measured error rates):
-- - restore_success_rate, merge_auto_success_rate: the cohorts' events are paired in time order within each bucket;
--   of the pairs where exactly one event failed, the treatment's share is ½ when the rates are equal whatever they
--   are, so the beta-binomial mixture test of ½ (uniform mixture) on them is exact (Wald 1947, pairs with unlike
--   outcomes; Howard et al. 2021 for the mixture);
-- - autosave_p95: the treatment's p95 is above the control's when, at one of the levels control_p95_levels_ms, the
--   treatment's quantile sequence lies above the level and the control's below it (Howard & Ramdas 2022); the levels
--   split alpha.
-- has_control is false (and is_treatment_worse null) until the phase has events of both cohorts.
{%- set levels = var('control_p95_levels_ms') %}
{%- set alpha = var('control_sequence_alpha') %}
{%- set prior = var('sequence_prior_size') %}
with

save_completed as (

    select * from {{ ref('stg_telemetry__save_completed') }}

),

restore_result as (

    select * from {{ ref('stg_telemetry__restore_result') }}

),

diff_apply as (

    select * from {{ ref('stg_telemetry__diff_apply') }}

),

metric_thresholds as (

    select * from {{ ref('metric_thresholds') }}

),

phase_flags as (

    select * from {{ ref('phase_flags') }}

),

phase_starts as (

    select * from {{ ref('int_phase_starts_resolved') }}

),

rate_events as (

    select
        phase,
        'restore_success_rate' as metric,
        cohort,
        restored_at as event_at,
        event_id,
        case when is_success then 0 else 1 end as is_breach
    from restore_result
    union all
    select
        phase,
        'merge_auto_success_rate' as metric,
        cohort,
        applied_at as event_at,
        event_id,
        case when is_auto_accepted then 0 else 1 end as is_breach
    from diff_apply

),

-- the n-th treatment event of a bucket is paired with its n-th control event
numbered as (

    select
        phase,
        metric,
        cohort,
        is_breach,
        {{ time_bucket_index('event_at', 15) }} as bucket,
        row_number() over (
            partition by phase, metric, cohort, {{ time_bucket_index('event_at', 15) }}
            order by event_at, event_id
        ) as pair_index
    from rate_events

),

rate_buckets as (

    select
        treatment.phase,
        treatment.metric,
        treatment.bucket,
        count(*) as pair_count,
        sum(case when treatment.is_breach = 1 and control.is_breach = 0 then 1 else 0 end) as treatment_only,
        sum(case when treatment.is_breach = 0 and control.is_breach = 1 then 1 else 0 end) as control_only
    from numbered as treatment
    inner join numbered as control
        on control.phase = treatment.phase
        and control.metric = treatment.metric
        and control.bucket = treatment.bucket
        and control.pair_index = treatment.pair_index
        and control.cohort = 'control'
    where treatment.cohort = 'treatment'
    group by treatment.phase, treatment.metric, treatment.bucket

),

save_buckets as (

    select
        phase,
        {{ time_bucket_index('saved_at', 15) }} as bucket,
        {%- for level in levels %}
        sum(case when cohort = 'treatment' and duration_ms > {{ level }} then 1 else 0 end)
            as treatment_above_{{ loop.index }},
        sum(case when cohort = 'control' and duration_ms > {{ level }} then 1 else 0 end)
            as control_above_{{ loop.index }},
        {%- endfor %}
        sum(case when cohort = 'treatment' then 1 else 0 end) as treatment_count,
        sum(case when cohort = 'control' then 1 else 0 end) as control_count
    from save_completed
    group by phase, {{ time_bucket_index('saved_at', 15) }}

),

-- which cohorts a phase has seen, by bucket (a control appears from its first event on)
cohort_buckets as (

    select
        phase,
        {{ time_bucket_index('event_at', 15) }} as bucket,
        max(case when cohort = 'control' then 1 else 0 end) as has_control
    from rate_events
    group by phase, {{ time_bucket_index('event_at', 15) }}
    union all
    select
        phase,
        bucket,
        case when control_count > 0 then 1 else 0 end as has_control
    from save_buckets

),

streams as (

    select
        metric,
        dimension,
        applies_from_phase
    from metric_thresholds
    where
        (metric = 'autosave_p95' and dimension = 'all')
        or (metric in ('restore_success_rate', 'merge_auto_success_rate') and dimension = 'overall')

),

grid as (

    select
        phase_starts.phase,
        phase_starts.eval_at,
        phase_starts.phase_started_at,
        streams.metric,
        streams.dimension,
        {{ time_bucket_index('phase_starts.eval_at', 15) }} as eval_bucket
    from phase_starts
    cross join streams
    inner join phase_flags as metric_phase
        on metric_phase.phase = phase_starts.phase
    inner join phase_flags as first_phase
        on first_phase.phase = streams.applies_from_phase
    where metric_phase.phase_order >= first_phase.phase_order

),

-- the buckets of the phase complete at T: started at or after the phase's start, ended by T
seen_control as (

    select
        grid.phase,
        grid.eval_at,
        max(cohort_buckets.has_control) as has_control
    from grid
    inner join cohort_buckets
        on cohort_buckets.phase = grid.phase
        and cohort_buckets.bucket < grid.eval_bucket
        and {{ time_bucket_start('cohort_buckets.bucket', 15) }} >= grid.phase_started_at
    where grid.metric = 'autosave_p95'
    group by grid.phase, grid.eval_at

),

rate_counts as (

    select
        grid.phase,
        grid.eval_at,
        grid.metric,
        sum(rate_buckets.pair_count) as pair_count,
        sum(rate_buckets.treatment_only) as treatment_only,
        sum(rate_buckets.control_only) as control_only
    from grid
    inner join rate_buckets
        on rate_buckets.phase = grid.phase
        and rate_buckets.metric = grid.metric
        and rate_buckets.bucket < grid.eval_bucket
        and {{ time_bucket_start('rate_buckets.bucket', 15) }} >= grid.phase_started_at
    group by grid.phase, grid.eval_at, grid.metric

),

save_counts as (

    select
        grid.phase,
        grid.eval_at,
        {%- for level in levels %}
        sum(save_buckets.treatment_above_{{ loop.index }}) as treatment_above_{{ loop.index }},
        sum(save_buckets.control_above_{{ loop.index }}) as control_above_{{ loop.index }},
        {%- endfor %}
        sum(save_buckets.treatment_count) as treatment_count,
        sum(save_buckets.control_count) as control_count
    from grid
    inner join save_buckets
        on save_buckets.phase = grid.phase
        and save_buckets.bucket < grid.eval_bucket
        and {{ time_bucket_start('save_buckets.bucket', 15) }} >= grid.phase_started_at
    where grid.metric = 'autosave_p95'
    group by grid.phase, grid.eval_at

),

combined as (

    select
        grid.phase,
        grid.eval_at,
        grid.metric,
        grid.dimension,
        grid.phase_started_at,
        coalesce(seen_control.has_control, 0) = 1 as has_control,
        coalesce(rate_counts.pair_count, 0) as pair_count,
        coalesce(rate_counts.treatment_only, 0) as treatment_only,
        coalesce(rate_counts.control_only, 0) as control_only,
        coalesce(save_counts.treatment_count, 0) as treatment_count,
        coalesce(save_counts.control_count, 0) as control_count,
        {%- for level in levels %}
        coalesce(save_counts.treatment_above_{{ loop.index }}, 0) as treatment_above_{{ loop.index }},
        coalesce(save_counts.control_above_{{ loop.index }}, 0) as control_above_{{ loop.index }},
        {%- endfor %}
        grid.metric = 'autosave_p95' as is_quantile
    from grid
    left join seen_control
        on seen_control.phase = grid.phase
        and seen_control.eval_at = grid.eval_at
    left join rate_counts
        on rate_counts.phase = grid.phase
        and rate_counts.eval_at = grid.eval_at
        and rate_counts.metric = grid.metric
    left join save_counts
        on save_counts.phase = grid.phase
        and save_counts.eval_at = grid.eval_at
        and grid.metric = 'autosave_p95'

),

levels as (
    {%- for level in levels %}

    select {{ loop.index }} as level_index
    {{- " union all" if not loop.last }}
    {%- endfor %}

),

-- one row per comparison level of the p95 (the macros expanded once, not once per level: Spark's metastore keeps a
-- view's text in a bounded column)
level_rows as (

    select
        combined.phase,
        combined.eval_at,
        combined.metric,
        combined.treatment_count,
        combined.control_count,
        case levels.level_index
            {%- for level in levels %}
            when {{ loop.index }} then combined.treatment_above_{{ loop.index }}
            {%- endfor %}
        end as treatment_above,
        case levels.level_index
            {%- for level in levels %}
            when {{ loop.index }} then combined.control_above_{{ loop.index }}
            {%- endfor %}
        end as control_above
    from combined
    cross join levels
    where combined.is_quantile

),

-- the p95: at some level the treatment's sequence above it and the control's below it, each at alpha / levels
{%- set share = alpha ~ ' / ' ~ (levels | length) %}
{%- set a = prior ~ ' * 0.05' %}
{%- set b = prior ~ ' * 0.95' %}
level_tests as (

    select
        phase,
        eval_at,
        metric,
        max(
            case
                when
                    treatment_above > 0.05 * treatment_count
                    and {{ beta_binomial_log_evidence('treatment_above', 'treatment_count', '0.05', a, b) }}
                    >= ln(1.0 / ({{ share }}))
                    and control_above < 0.05 * control_count
                    and {{ beta_binomial_log_evidence('control_above', 'control_count', '0.05', a, b) }}
                    >= ln(1.0 / ({{ share }}))
                    then 1
                else 0
            end
        ) = 1 as is_p95_worse
    from level_rows
    group by phase, eval_at, metric

),

tested as (

    select
        combined.*,
        level_tests.is_p95_worse,
        -- pairs: the treatment's share of the unlike pairs above ½ (uniform mixture Beta(1, 1))
        combined.treatment_only > combined.control_only
        and {{ beta_binomial_log_evidence(
            'combined.treatment_only', 'combined.treatment_only + combined.control_only', '0.5', '1.0', '1.0'
        ) }}
        >= ln(1.0 / {{ alpha }}) as is_pairs_worse
    from combined
    left join level_tests
        on level_tests.phase = combined.phase
        and level_tests.eval_at = combined.eval_at
        and level_tests.metric = combined.metric

),

final as (

    select
        phase,
        eval_at,
        metric,
        dimension,
        phase_started_at,
        has_control,
        case when is_quantile then treatment_count end as treatment_count,
        case when is_quantile then control_count end as control_count,
        case when not is_quantile then pair_count end as pair_count,
        case when not is_quantile then treatment_only end as treatment_only_pairs,
        case when not is_quantile then control_only end as control_only_pairs,
        {{ alpha }} as alpha,
        case
            when not has_control then null
            when is_quantile then is_p95_worse
            else is_pairs_worse
        end as is_treatment_worse
    from tested

)

select * from final
