-- One row per phase, evaluation time T and rule of governance/gate_rules: what the rule measured, what it compared
-- against, and its outcome. A rule with insufficient data neither fires nor passes.
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

rules_evaluated as (

    select * from {{ ref('int_gate_rules_evaluated') }}

),

measured as (

    select
        gate_rules.phase,
        rules_evaluated.eval_at,
        gate_rules.rule_id,
        gate_rules.kind,
        gate_rules.measure,
        rules_evaluated.value,
        rules_evaluated.threshold,
        rules_evaluated.sample_count,
        rules_evaluated.has_insufficient_data,
        rules_evaluated.is_condition_met,
        rules_evaluated.detail
    from gate_rules
    inner join rules_evaluated
        on rules_evaluated.rule_id = gate_rules.rule_id
        and rules_evaluated.phase = gate_rules.phase

),

review_outcomes as (

    select
        phase,
        eval_at,
        count(case when kind = 'review' and is_condition_met and not has_insufficient_data then 1 end) as fired,
        count(case when kind = 'review' and has_insufficient_data then 1 end) as insufficient
    from measured
    group by phase, eval_at

),

-- no_review_fired: the number of review rules of the phase that fired at T
no_review_rules as (

    select
        gate_rules.phase,
        eval_times.eval_at,
        gate_rules.rule_id,
        gate_rules.kind,
        gate_rules.measure,
        cast(coalesce(review_outcomes.fired, 0) as double) as value,
        gate_rules.threshold,
        cast(null as bigint) as sample_count,
        coalesce(review_outcomes.insufficient, 0) > 0 as has_insufficient_data,
        coalesce(
            {{ gate_compare('coalesce(review_outcomes.fired, 0)', 'gate_rules.comparator', 'gate_rules.threshold') }},
            false
        ) as is_condition_met,
        'review rules of the phase fired at T' as detail
    from gate_rules
    inner join eval_times
        on eval_times.phase = gate_rules.phase
    left join review_outcomes
        on review_outcomes.phase = eval_times.phase
        and review_outcomes.eval_at = eval_times.eval_at
    where gate_rules.measure = 'no_review_fired'

),

all_rules as (

    select * from measured
    union all
    select * from no_review_rules

),

final as (

    select
        all_rules.phase,
        all_rules.eval_at,
        all_rules.rule_id,
        all_rules.kind,
        all_rules.measure,
        gate_rules.metric,
        gate_rules.dimension,
        gate_rules.{{ adapter.quote('window') }},
        all_rules.value,
        gate_rules.comparator,
        all_rules.threshold,
        gate_rules.min_samples,
        all_rules.sample_count,
        all_rules.is_condition_met and not all_rules.has_insufficient_data as is_fired,
        case
            when all_rules.has_insufficient_data then 'insufficient_data'
            when all_rules.kind = 'promote' and all_rules.is_condition_met then 'passed'
            when all_rules.kind = 'promote' then 'not_met'
            when all_rules.is_condition_met then 'fired'
            else 'clear'
        end as status,
        all_rules.detail,
        gate_rules.description,
        coalesce(gate_rules.bound, 'value') as bound
    from all_rules
    inner join gate_rules
        on gate_rules.rule_id = all_rules.rule_id

)

select * from final
