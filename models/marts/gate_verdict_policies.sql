{#- A view beside marts.gate_verdicts, not columns of it: it reads marts.metric_confidence_sequences and
    metric_control_comparisons (every save, restore and diff apply per grid time), which the 15-minute cycle should
    not pay for while the gate acts on the seed's rules. -#}
{{ config(materialized='view') }}
-- Issue 16: per phase and grid time T, the verdict of marts.gate_verdicts (the seed's rules, which the gate acts on)
-- beside what the other policies measured in STATISTICS.md would say:
-- - anytime: the SLO metrics whose confidence sequence lies beyond the critical level (marts.metric_confidence_
--   sequences at sequence_alpha: the family-wise 5% split over 11 tests);
-- - anytime_with_control: the same sequences at control_sequence_alpha (5% over 21 tests), or the treatment
--   certified worse than a control cohort running at the same time (marts.metric_control_comparisons); control_status
--   says 'no_control' where the phase has no control cohort;
-- - burn_rate: the SLO metrics whose multi-window burn rate fires (marts.metric_burn_rates);
-- - hysteresis: the rollback rules that fire once governance/gate_rule_hysteresis.csv's fire_after and clear_after
--   are applied to their conditions over consecutive evaluations (1 and 1, the default, is the seed).
with

verdicts as (

    select * from {{ ref('gate_verdicts') }}

),

rule_results as (

    select * from {{ ref('gate_rule_results') }}

),

hysteresis as (

    select * from {{ ref('gate_rule_hysteresis') }}

),

sequences as (

    select * from {{ ref('metric_confidence_sequences') }}

),

comparisons as (

    select * from {{ ref('metric_control_comparisons') }}

),

burn_rates as (

    select * from {{ ref('metric_burn_rates') }}

),

-- a rollback rule's fired state per evaluation, with its run of consecutive fired / not-fired evaluations so far
rollback_rules as (

    select
        rule_results.phase,
        rule_results.eval_at,
        rule_results.rule_id,
        coalesce(rule_results.is_fired, false) as is_fired,
        coalesce(hysteresis.fire_after, 1) as fire_after,
        coalesce(hysteresis.clear_after, 1) as clear_after,
        row_number() over (partition by rule_results.phase, rule_results.rule_id order by rule_results.eval_at)
        - row_number() over (
            partition by rule_results.phase, rule_results.rule_id, coalesce(rule_results.is_fired, false)
            order by rule_results.eval_at
        ) as run_id
    from rule_results
    left join hysteresis
        on hysteresis.phase = rule_results.phase
        and hysteresis.rule_id = rule_results.rule_id
    where rule_results.kind = 'rollback'

),

runs as (

    select
        *,
        row_number() over (partition by phase, rule_id, is_fired, run_id order by eval_at) as run_length
    from rollback_rules

),

-- a rule turns on where a fired run reaches fire_after; each such evaluation opens an episode, and the rule stays on
-- through the episode until a not-fired run reaches clear_after
episodes as (

    select
        *,
        sum(case when is_fired and run_length = fire_after then 1 else 0 end) over (
            partition by phase, rule_id order by eval_at rows between unbounded preceding and current row
        ) as episode

    from runs

),

held as (

    select
        phase,
        eval_at,
        rule_id,
        episode > 0
        and max(case when not is_fired then run_length else 0 end) over (
            partition by phase, rule_id, episode order by eval_at rows between unbounded preceding and current row
        ) < clear_after as is_held
    from episodes

),

held_rules as (

    select
        phase,
        eval_at,
        {{ ordered_list('rule_id', 'rule_id', 'is_held') }} as held_rollback_rule_ids
    from held
    group by phase, eval_at

),

anytime as (

    select
        phase,
        eval_at,
        {{ ordered_list('metric', 'metric', 'is_breach_certain') }} as anytime_breached_metrics,
        {{ ordered_list(
            'metric', 'metric',
            "breach_count > allowed_share * sample_count and log_evidence >= ln(1.0 / " ~ var('control_sequence_alpha') ~ ")"
        ) }} as anytime_breached_metrics_at_control_alpha
    from sequences
    group by phase, eval_at

),

control as (

    select
        phase,
        eval_at,
        max(case when has_control then 1 else 0 end) = 1 as has_control,
        coalesce({{ ordered_list('metric', 'metric', 'is_treatment_worse') }}, {{ empty_list() }})
            as control_worse_metrics
    from comparisons
    group by phase, eval_at

),

burning as (

    select
        phase,
        eval_at,
        {{ ordered_list('metric', 'metric', 'is_burn_rate_fired') }} as burn_rate_metrics
    from burn_rates
    group by phase, eval_at

),

final as (

    select
        verdicts.phase,
        verdicts.eval_at,
        verdicts.decision,
        verdicts.rules_decision,
        coalesce(anytime.anytime_breached_metrics, {{ empty_list() }}) as anytime_breached_metrics,
        {{ list_length('coalesce(anytime.anytime_breached_metrics, ' ~ empty_list() ~ ')') }} > 0
            as is_anytime_rollback,
        case
            when not coalesce(control.has_control, false) then 'no_control'
            when {{ list_length('control.control_worse_metrics') }} > 0 then 'treatment_worse'
            else 'not_worse'
        end as control_status,
        case when coalesce(control.has_control, false) then control.control_worse_metrics end
            as control_worse_metrics,
        {{ list_length('coalesce(anytime.anytime_breached_metrics_at_control_alpha, ' ~ empty_list() ~ ')') }} > 0
        or (
            coalesce(control.has_control, false)
            and {{ list_length('control.control_worse_metrics') }} > 0
        ) as is_anytime_with_control_rollback,
        coalesce(held_rules.held_rollback_rule_ids, {{ empty_list() }}) as held_rollback_rule_ids,
        {{ list_length('coalesce(held_rules.held_rollback_rule_ids, ' ~ empty_list() ~ ')') }} > 0
            as is_held_rollback,
        coalesce(burning.burn_rate_metrics, {{ empty_list() }}) as burn_rate_metrics,
        {{ list_length('coalesce(burning.burn_rate_metrics, ' ~ empty_list() ~ ')') }} > 0 as is_burn_rate_rollback
    from verdicts
    left join anytime
        on anytime.phase = verdicts.phase
        and anytime.eval_at = verdicts.eval_at
    left join control
        on control.phase = verdicts.phase
        and control.eval_at = verdicts.eval_at
    left join held_rules
        on held_rules.phase = verdicts.phase
        and held_rules.eval_at = verdicts.eval_at
    left join burning
        on burning.phase = verdicts.phase
        and burning.eval_at = verdicts.eval_at

)

select * from final
