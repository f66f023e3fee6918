-- One row per phase and evaluation time T: the gate's decision, most severe first: rollback if a rollback rule
-- fires; else review if a review rule fires; else promote if every promote rule of the phase passes and no rollback
-- into the phase waits for its RCA; else hold.
with

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

rule_results as (

    select * from {{ ref('gate_rule_results') }}

),

phase_starts as (

    select * from {{ ref('int_phase_starts_resolved') }}

),

rca_blocks as (

    select * from {{ ref('int_rca_blocks_listed') }}

),

phase_flags as (

    select * from {{ ref('phase_flags') }}

),

-- the phase order of SPEC §2, as the phase_flags seed holds it
neighbours as (

    select
        phase,
        lead(phase) over (order by phase_order) as next_phase,
        lag(phase) over (order by phase_order) as previous_phase
    from phase_flags

),

outcomes as (

    select
        phase,
        eval_at,
        {{ ordered_list('rule_id', 'rule_id', where="kind = 'rollback' and status = 'fired'") }} as rollback_fired,
        {{ ordered_list('rule_id', 'rule_id', where="kind = 'review' and status = 'fired'") }} as review_fired,
        {{ ordered_list('rule_id', 'rule_id', where="kind = 'promote'") }} as promote_rules,
        {{ ordered_list('rule_id', 'rule_id', where="kind = 'promote' and status <> 'passed'") }} as promote_blockers,
        {{ ordered_list('rule_id', 'rule_id', where="kind = 'promote' and status = 'insufficient_data'") }}
            as promote_insufficient,
        {{ ordered_list('rule_id', 'rule_id', where="status = 'insufficient_data'") }} as insufficient
    from rule_results
    group by phase, eval_at

),

lists as (

    select
        eval_times.phase,
        eval_times.eval_at,
        coalesce(outcomes.rollback_fired, {{ empty_list() }}) as rollback_fired,
        coalesce(outcomes.review_fired, {{ empty_list() }}) as review_fired,
        coalesce(outcomes.promote_rules, {{ empty_list() }}) as promote_rules,
        coalesce(outcomes.promote_blockers, {{ empty_list() }}) as promote_blockers,
        coalesce(outcomes.promote_insufficient, {{ empty_list() }}) as promote_insufficient,
        coalesce(outcomes.insufficient, {{ empty_list() }}) as insufficient,
        coalesce(rca_blocks.blocking_rollback_ids, {{ empty_list() }}) as blocking_rollback_ids
    from eval_times
    left join outcomes
        on outcomes.phase = eval_times.phase
        and outcomes.eval_at = eval_times.eval_at
    left join rca_blocks
        on rca_blocks.phase = eval_times.phase
        and rca_blocks.eval_at = eval_times.eval_at

),

decided as (

    select
        *,
        case
            when {{ list_length('rollback_fired') }} > 0 then 'rollback'
            when {{ list_length('review_fired') }} > 0 then 'review'
            when {{ list_length('promote_blockers') }} = 0 and {{ list_length('blocking_rollback_ids') }} = 0
                then 'promote'
            else 'hold'
        end as decision
    from lists

),

final as (

    select
        decided.phase,
        decided.eval_at,
        decided.decision,
        case
            when decided.decision = 'rollback' then 'rollback_rule_fired'
            when decided.decision = 'review' then 'review_rule_fired'
            when decided.decision = 'promote' then 'promote_rules_passed'
            when {{ list_length('decided.promote_blockers') }} = 0 then 'rca_missing'
            when {{ list_length('decided.promote_blockers') }} = {{ list_length('decided.promote_insufficient') }}
                then 'insufficient_data'
            else 'promote_rules_not_met'
        end as reason,
        case when decided.decision = 'promote' then neighbours.next_phase end as next_phase,
        case when decided.decision = 'rollback' then neighbours.previous_phase end as rollback_to,
        case
            when decided.decision = 'rollback' then decided.rollback_fired
            when decided.decision = 'review' then decided.review_fired
            when decided.decision = 'promote' then decided.promote_rules
            else decided.promote_blockers
        end as deciding_rule_ids,
        decided.insufficient as insufficient_rule_ids,
        decided.blocking_rollback_ids,
        phase_starts.phase_started_at,
        phase_starts.phase_start_source
    from decided
    inner join neighbours
        on neighbours.phase = decided.phase
    inner join phase_starts
        on phase_starts.phase = decided.phase
        and phase_starts.eval_at = decided.eval_at

)

select * from final
