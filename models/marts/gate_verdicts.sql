-- One row per phase and evaluation time T: the decision the gate acts on, with the rules' decision
-- (marts.gate_decisions, SPEC §7) beside it and the reasons they differ. Promotion needs a final T (every finality
-- stream past T + its allowed lateness) and data that can be trusted (marts.data_quality); otherwise the gate
-- holds, reason not_final or data_quality. Rollback and review act as the rules say, final or not: waiting for
-- late data or clean tests must never delay a rollback.
with

decisions as (

    select * from {{ ref('gate_decisions') }}

),

finality as (

    select * from {{ ref('int_eval_times_finalized') }}

),

data_quality as (

    select * from {{ ref('data_quality') }}

),

combined as (

    select
        decisions.*,
        finality.is_final,
        finality.watermark_at,
        finality.final_until,
        finality.finality_features,
        coalesce(data_quality.is_ok, true) as is_data_quality_ok,
        data_quality.reject_share,
        data_quality.max_reject_share,
        coalesce(data_quality.failing_tests, {{ empty_list() }}) as failing_tests
    from decisions
    inner join finality
        on finality.phase = decisions.phase
        and finality.eval_at = decisions.eval_at
    left join data_quality
        on true

),

-- what keeps the gate from the rules' decision; rollback and review are never held back
overrides as (

    select
        *,
        decision in ('rollback', 'review') as is_acted_on_regardless,
        {{ list_without_nulls([
            "case when decision not in ('rollback', 'review') and not is_data_quality_ok then 'data_quality' end",
            "case when decision = 'promote' and not is_final then 'not_final' end",
        ]) }} as differs_because
    from combined

),

final as (

    select
        phase,
        eval_at,
        case when {{ list_length('differs_because') }} > 0 then 'hold' else decision end as decision,
        case
            when {{ list_length('differs_because') }} > 0 then {{ list_first('differs_because') }}
            else reason
        end as reason,
        case when {{ list_length('differs_because') }} = 0 then next_phase end as next_phase,
        rollback_to,
        -- a hold the rules did not decide has no deciding rule
        case
            when decision = 'promote' and {{ list_length('differs_because') }} > 0 then {{ empty_list() }}
            else deciding_rule_ids
        end as deciding_rule_ids,
        decision as rules_decision,
        reason as rules_reason,
        differs_because,
        is_final,
        watermark_at,
        final_until,
        finality_features,
        is_data_quality_ok,
        reject_share,
        max_reject_share,
        failing_tests,
        insufficient_rule_ids,
        blocking_rollback_ids,
        phase_started_at,
        phase_start_source
    from overrides

)

select * from final
