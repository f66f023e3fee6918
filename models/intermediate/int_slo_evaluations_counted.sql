-- Per phase and T, the SLO rows of marts.metric_status: how many are critical or evaluable (ok, warn, critical) at T,
-- running totals of both since the phase's first evaluation, and the longest trailing-24h run of critical
-- evaluations of any one SLO row (96 when a row was critical at every T of the trailing 24h).
with

metric_status as (

    select * from {{ ref('metric_status') }}

),

critical_runs as (

    select
        phase,
        eval_at,
        status,
        -- the 96 grid times of (T - 24h, T]: the grid is contiguous, so 96 critical rows means every one
        count(case when status = 'critical' then 1 end) over (
            partition by phase, metric, dimension, {{ adapter.quote('window') }}
            order by eval_at
            range between interval 1425 minute preceding and current row
        ) as critical_in_trailing_24h
    from metric_status

),

by_t as (

    select
        phase,
        eval_at,
        count(case when status = 'critical' then 1 end) as critical_rows,
        count(case when status in ('ok', 'warn', 'critical') then 1 end) as evaluable_rows,
        max(critical_in_trailing_24h) as max_critical_in_trailing_24h
    from critical_runs
    group by phase, eval_at

),

final as (

    select
        phase,
        eval_at,
        critical_rows,
        evaluable_rows,
        max_critical_in_trailing_24h,
        sum(critical_rows) over (
            partition by phase order by eval_at rows between unbounded preceding and current row
        ) as critical_rows_to_date,
        sum(evaluable_rows) over (
            partition by phase order by eval_at rows between unbounded preceding and current row
        ) as evaluable_rows_to_date
    from by_t

)

select * from final
