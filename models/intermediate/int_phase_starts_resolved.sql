-- When phase P started, as seen at T: the latest ledger entry that entered P at or before T, else P's first event.
with

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

ledger as (

    select * from {{ ref('stg_governance__phase_ledger') }}

),

events as (

    select * from {{ ref('stg_telemetry__events') }}

),

phase_bounds as (

    select
        phase,
        min(event_at) as first_event_at
    from events
    group by phase

),

entries_by_t as (

    select
        eval_times.phase,
        eval_times.eval_at,
        ledger.effective_at as entered_at,
        ledger.entry_id
    from eval_times
    inner join ledger
        on ledger.phase_to = eval_times.phase
        and ledger.effective_at <= eval_times.eval_at
    qualify
        row_number() over (
            partition by eval_times.phase, eval_times.eval_at
            order by ledger.effective_at desc, ledger.seq desc
        ) = 1

),

final as (

    select
        eval_times.phase,
        eval_times.eval_at,
        coalesce(entries_by_t.entered_at, phase_bounds.first_event_at) as phase_started_at,
        case when entries_by_t.entered_at is not null then 'ledger' else 'first_event' end as phase_start_source,
        entries_by_t.entry_id as ledger_entry_id
    from eval_times
    left join entries_by_t
        on entries_by_t.phase = eval_times.phase
        and entries_by_t.eval_at = eval_times.eval_at
    left join phase_bounds
        on phase_bounds.phase = eval_times.phase

)

select * from final
