-- Per phase and UTC day (a T belongs to the day of T - 15 min): how many evaluations the day has and how many
-- metric_status rows of it are critical.
with

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

slo_evaluations as (

    select * from {{ ref('int_slo_evaluations_counted') }}

),

final as (

    select
        eval_times.phase,
        eval_times.eval_day,
        count(*) as evaluations,
        coalesce(sum(slo_evaluations.critical_rows), 0) as critical_rows
    from eval_times
    left join slo_evaluations
        on slo_evaluations.phase = eval_times.phase
        and slo_evaluations.eval_at = eval_times.eval_at
    group by eval_times.phase, eval_times.eval_day

)

select * from final
