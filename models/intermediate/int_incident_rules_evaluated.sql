-- Rules of measure incident_count: incident.declared of the phase with the rule's severity (its dimension) in the
-- window before T (T - window <= time < T, as metrics windows).
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

incidents as (

    select * from {{ ref('stg_telemetry__incident_declared') }}

),

rules as (

    select * from gate_rules
    where measure = 'incident_count'

),

counted as (

    select
        rules.rule_id,
        rules.comparator,
        rules.threshold,
        rules.dimension as severity,
        rules.{{ adapter.quote('window') }},
        eval_times.phase,
        eval_times.eval_at,
        count(incidents.declared_at) as incidents
    from rules
    inner join eval_times
        on eval_times.phase = rules.phase
    left join incidents
        on incidents.phase = eval_times.phase
        and incidents.severity = rules.dimension
        and incidents.declared_at >= eval_times.eval_at - {{ window_interval('rules.' ~ adapter.quote('window')) }}
        and incidents.declared_at < eval_times.eval_at
    group by
        rules.rule_id, rules.comparator, rules.threshold, rules.dimension, rules.{{ adapter.quote('window') }},
        eval_times.phase, eval_times.eval_at

),

final as (

    select
        rule_id,
        phase,
        eval_at,
        cast(incidents as double) as value,
        threshold,
        incidents as sample_count,
        false as has_insufficient_data,
        coalesce({{ gate_compare('incidents', 'comparator', 'threshold') }}, false) as is_condition_met,
        severity || ' incidents declared in the phase in the trailing ' || {{ adapter.quote('window') }} as detail
    from counted

)

select * from final
