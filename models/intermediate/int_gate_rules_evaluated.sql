-- Every rule of governance/gate_rules evaluated at every T of its phase, one model per kind of measure, in one shape.
-- (no_review_fired depends on the other rules' outcome and is evaluated in marts.gate_rule_results.)
with

metric_value_rules as (

    select * from {{ ref('int_metric_value_rules_evaluated') }}

),

metric_critical_rules as (

    select * from {{ ref('int_metric_critical_rules_evaluated') }}

),

breach_hour_rules as (

    select * from {{ ref('int_breach_hour_rules_evaluated') }}

),

qa_rules as (

    select * from {{ ref('int_qa_rules_evaluated') }}

),

crash_rate_rules as (

    select * from {{ ref('int_crash_rate_rules_evaluated') }}

),

slo_rules as (

    select * from {{ ref('int_slo_rules_evaluated') }}

),

incident_rules as (

    select * from {{ ref('int_incident_rules_evaluated') }}

),

final as (

    select rule_id, phase, eval_at, value, threshold, sample_count, has_insufficient_data, is_condition_met, detail
    from metric_value_rules
    union all
    select rule_id, phase, eval_at, value, threshold, sample_count, has_insufficient_data, is_condition_met, detail
    from metric_critical_rules
    union all
    select rule_id, phase, eval_at, value, threshold, sample_count, has_insufficient_data, is_condition_met, detail
    from breach_hour_rules
    union all
    select rule_id, phase, eval_at, value, threshold, sample_count, has_insufficient_data, is_condition_met, detail
    from qa_rules
    union all
    select rule_id, phase, eval_at, value, threshold, sample_count, has_insufficient_data, is_condition_met, detail
    from crash_rate_rules
    union all
    select rule_id, phase, eval_at, value, threshold, sample_count, has_insufficient_data, is_condition_met, detail
    from slo_rules
    union all
    select rule_id, phase, eval_at, value, threshold, sample_count, has_insufficient_data, is_condition_met, detail
    from incident_rules

)

select * from final
