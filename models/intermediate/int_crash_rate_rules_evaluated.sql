-- Rules of measure crash_rate_vs_baseline: the windowed crash rate against threshold × baseline (the rule's
-- threshold is the multiplier; the effective threshold is reported).
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

crash_baseline as (

    select * from {{ ref('int_crash_baseline_resolved') }}

),

rules as (

    select * from gate_rules
    where measure = 'crash_rate_vs_baseline'

),

final as (

    select
        rules.rule_id,
        metrics_windowed.phase,
        metrics_windowed.eval_at,
        metrics_windowed.value,
        rules.threshold * crash_baseline.baseline as threshold,
        metrics_windowed.sample_count,
        metrics_windowed.value is null
        or metrics_windowed.sample_count < rules.min_samples
        or crash_baseline.baseline is null as has_insufficient_data,
        coalesce(
            {{ gate_compare(
                'metrics_windowed.value', 'rules.comparator', 'rules.threshold * crash_baseline.baseline'
            ) }},
            false
        ) as is_condition_met,
        rules.metric || ' ' || rules.{{ adapter.quote('window') }} || ' over ' || metrics_windowed.sample_count
        || ' sessions vs ' || {{ format_g('rules.threshold') }} || ' × baseline '
        || coalesce({{ format_g('crash_baseline.baseline') }}, 'unknown')
        || ' (' || crash_baseline.baseline_source || ')' as detail
    from rules
    inner join metrics_windowed
        on metrics_windowed.phase = rules.phase
        and metrics_windowed.metric = rules.metric
        and metrics_windowed.dimension = rules.dimension
        and metrics_windowed.{{ adapter.quote('window') }} = rules.{{ adapter.quote('window') }}
    cross join crash_baseline

)

select * from final
