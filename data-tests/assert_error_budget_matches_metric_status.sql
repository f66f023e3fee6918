-- marts.error_budget against marts.metric_status: at each phase's latest grid time the counts are those of the
-- phase's status rows, the counts nest (critical within evaluated within grid), and the shares lie in [0, 1].
-- Returns the rows that fail.
with

error_budget as (

    select * from {{ ref('error_budget') }}

),

metric_status as (

    select * from {{ ref('metric_status') }}

),

status_counts as (

    select
        phase,
        metric,
        dimension,
        {{ adapter.quote('window') }},
        count(*) as grid_times,
        sum(case when status in ('ok', 'warn', 'critical') then 1 else 0 end) as evaluated_times,
        sum(case when status = 'critical' then 1 else 0 end) as critical_times
    from metric_status
    where status <> 'not_applicable'
    group by phase, metric, dimension, {{ adapter.quote('window') }}

),

latest_mismatches as (

    select
        coalesce(error_budget.phase, status_counts.phase) as phase,
        coalesce(error_budget.metric, status_counts.metric) as metric,
        'latest counts differ from metric_status' as problem
    from error_budget
    full outer join status_counts
        on status_counts.phase = error_budget.phase
        and status_counts.metric = error_budget.metric
        and status_counts.dimension = error_budget.dimension
        and status_counts.{{ adapter.quote('window') }} = error_budget.{{ adapter.quote('window') }}
    where (error_budget.is_latest or error_budget.phase is null)
        and (
            error_budget.phase is null
            or status_counts.phase is null
            or error_budget.grid_times <> status_counts.grid_times
            or error_budget.evaluated_times <> status_counts.evaluated_times
            or error_budget.critical_times <> status_counts.critical_times
        )

),

inconsistent as (

    select
        phase,
        metric,
        'counts or shares out of range' as problem
    from error_budget
    where critical_times > evaluated_times
        or evaluated_times > grid_times
        or critical_share < 0
        or critical_share > 1
        or budget_share < 0
        or budget_share > 1
        or is_exhausted <> (critical_share > budget_share)

),

final as (

    select * from latest_mismatches
    union all
    select * from inconsistent

)

select * from final
