-- Rules of measure metric_value: a metrics_windowed value against the rule's threshold.
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

rules as (

    select * from gate_rules
    where measure = 'metric_value'

),

final as (

    select
        rules.rule_id,
        metrics_windowed.phase,
        metrics_windowed.eval_at,
        metrics_windowed.value,
        rules.threshold,
        metrics_windowed.sample_count,
        -- a quantile or rate with no sample is NULL; below min_samples it is not trusted either
        metrics_windowed.value is null
        or metrics_windowed.sample_count < rules.min_samples as has_insufficient_data,
        coalesce({{ gate_compare('metrics_windowed.value', 'rules.comparator', 'rules.threshold') }}, false)
            as is_condition_met,
        rules.metric || ' ' || rules.dimension || ' ' || rules."window"
        || ' over ' || metrics_windowed.sample_count || ' samples' as detail
    from rules
    inner join metrics_windowed
        on metrics_windowed.phase = rules.phase
        and metrics_windowed.metric = rules.metric
        and metrics_windowed.dimension = rules.dimension
        and metrics_windowed."window" = rules."window"

)

select * from final
