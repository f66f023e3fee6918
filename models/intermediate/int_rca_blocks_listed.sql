-- Per phase and T, the rollbacks into the phase (effective at or before T) that have no complete RCA yet in
-- reports/rca/: while any is listed, promotion out of the phase is blocked (SPEC §7, seed §3.2).
with

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

ledger as (

    select * from {{ ref('stg_governance__phase_ledger') }}

),

rca_files as (

    select * from {{ ref('stg_governance__rca_files') }}

),

completed_rcas as (

    select distinct rollback_id
    from rca_files
    where is_complete

),

rollbacks_without_rca as (

    select ledger.*
    from ledger
    left join completed_rcas
        on completed_rcas.rollback_id = ledger.entry_id
    where ledger.action = 'rollback'
        and completed_rcas.rollback_id is null

),

final as (

    select
        eval_times.phase,
        eval_times.eval_at,
        {{ ordered_list('rollbacks_without_rca.entry_id', 'rollbacks_without_rca.seq') }} as blocking_rollback_ids
    from eval_times
    inner join rollbacks_without_rca
        on rollbacks_without_rca.phase_to = eval_times.phase
        and rollbacks_without_rca.effective_at <= eval_times.eval_at
    group by eval_times.phase, eval_times.eval_at

)

select * from final
