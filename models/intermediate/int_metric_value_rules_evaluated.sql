-- Rules of measure metric_value: a metrics_windowed value against the rule's threshold.
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

metric_confidence as (

    select * from {{ ref('metric_confidence') }}

),

rules as (

    select * from gate_rules
    where measure = 'metric_value'

),

-- the point value, or a bound of its 95% interval when the rule names one (gate_rules.bound)
measured as (

    select
        rules.*,
        metrics_windowed.phase as metric_phase,
        metrics_windowed.eval_at,
        metrics_windowed.sample_count,
        case coalesce(rules.bound, 'value')
            when 'lower_bound' then metric_confidence.lower_bound
            when 'upper_bound' then metric_confidence.upper_bound
            else metrics_windowed.value
        end as measured_value
    from rules
    inner join metrics_windowed
        on metrics_windowed.phase = rules.phase
        and metrics_windowed.metric = rules.metric
        and metrics_windowed.dimension = rules.dimension
        and metrics_windowed.{{ adapter.quote('window') }} = rules.{{ adapter.quote('window') }}
    left join metric_confidence
        on metric_confidence.phase = metrics_windowed.phase
        and metric_confidence.eval_at = metrics_windowed.eval_at
        and metric_confidence.metric = metrics_windowed.metric
        and metric_confidence.dimension = metrics_windowed.dimension
        and metric_confidence.{{ adapter.quote('window') }} = metrics_windowed.{{ adapter.quote('window') }}

),

final as (

    select
        rule_id,
        metric_phase as phase,
        eval_at,
        measured_value as value,
        threshold,
        sample_count,
        -- a quantile or rate with no sample is NULL; below min_samples it is not trusted either
        measured_value is null
        or sample_count < min_samples as has_insufficient_data,
        coalesce({{ gate_compare('measured_value', 'comparator', 'threshold') }}, false)
            as is_condition_met,
        metric || ' ' || dimension || ' ' || {{ adapter.quote('window') }}
        || case coalesce(bound, 'value') when 'value' then '' else ' ' || replace(bound, '_', ' ') || ' (95%)' end
        || ' over ' || sample_count || ' samples' as detail
    from measured

)

select * from final
