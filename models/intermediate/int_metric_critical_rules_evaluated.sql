-- Rules of measure metric_critical: the metric_status row is critical (its level comes from metric_thresholds).
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

metric_status as (

    select * from {{ ref('metric_status') }}

),

rules as (

    select * from gate_rules
    where measure = 'metric_critical'

),

final as (

    select
        rules.rule_id,
        metric_status.phase,
        metric_status.eval_at,
        metric_status.value,
        metric_status.critical_level as threshold,
        metric_status.sample_count,
        metric_status.status = 'insufficient_data' as has_insufficient_data,
        metric_status.status = 'critical' as is_condition_met,
        rules.metric || ' ' || rules.dimension || ' ' || rules.{{ adapter.quote('window') }}
        || ' status ' || metric_status.status
        || ' (min ' || metric_status.min_samples || ' samples, has ' || metric_status.sample_count || ')' as detail
    from rules
    inner join metric_status
        on metric_status.phase = rules.phase
        and metric_status.metric = rules.metric
        and metric_status.dimension = rules.dimension
        and metric_status.{{ adapter.quote('window') }} = rules.{{ adapter.quote('window') }}

)

select * from final
