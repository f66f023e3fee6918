-- Issue 8, item 6: each thresholded metric's error budget per phase. At every grid time T of a phase where the
-- threshold applies: how many of the phase's grid times up to T were critical (marts.metric_status), as a share of
-- them all, against the threshold's critical_budget_share. Running counts, so a report of any past day reads the
-- budget as it stood then; is_latest marks the phase's latest grid time (the budget to date).
with

metric_status as (

    select * from {{ ref('metric_status') }}

),

metric_thresholds as (

    select * from {{ ref('metric_thresholds') }}

),

-- a phase the threshold does not apply in (status not_applicable at every T) has no budget to spend
applicable as (

    select
        eval_at,
        phase,
        feature,
        metric,
        dimension,
        {{ adapter.quote('window') }},
        case when status = 'critical' then 1 else 0 end as is_critical_time,
        case when status in ('ok', 'warn', 'critical') then 1 else 0 end as is_evaluated_time
    from metric_status
    where status <> 'not_applicable'

),

-- every grid time counts in the denominator, insufficient_data ones included: the budget is a share of the
-- phase's time, and a time with too little data is not a critical one
counted as (

    select
        eval_at,
        phase,
        feature,
        metric,
        dimension,
        {{ adapter.quote('window') }},
        count(*) over (
            partition by phase, metric, dimension, {{ adapter.quote('window') }}
            order by eval_at
            rows between unbounded preceding and current row
        ) as grid_times,
        sum(is_evaluated_time) over (
            partition by phase, metric, dimension, {{ adapter.quote('window') }}
            order by eval_at
            rows between unbounded preceding and current row
        ) as evaluated_times,
        sum(is_critical_time) over (
            partition by phase, metric, dimension, {{ adapter.quote('window') }}
            order by eval_at
            rows between unbounded preceding and current row
        ) as critical_times,
        max(eval_at) over (partition by phase, metric, dimension, {{ adapter.quote('window') }}) as latest_eval_at
    from applicable

),

shared as (

    select
        counted.*,
        cast(counted.critical_times as double) / counted.grid_times as critical_share,
        cast(metric_thresholds.critical_budget_share as double) as budget_share
    from counted
    inner join metric_thresholds
        on metric_thresholds.metric = counted.metric
        and metric_thresholds.dimension = counted.dimension
        and metric_thresholds.{{ adapter.quote('window') }} = counted.{{ adapter.quote('window') }}

),

final as (

    select
        eval_at,
        phase,
        feature,
        metric,
        dimension,
        {{ adapter.quote('window') }},
        cast(grid_times as bigint) as grid_times,
        cast(evaluated_times as bigint) as evaluated_times,
        cast(critical_times as bigint) as critical_times,
        critical_share,
        budget_share,
        budget_share - critical_share as budget_remaining,
        critical_share > budget_share as is_exhausted,
        eval_at = latest_eval_at as is_latest
    from shared

)

select * from final
