-- marts.error_budget on its own (it is the only ref, so that a build of metric_status's lineage alone never selects
-- this test): every series' running count rises by one per grid time, the counts nest (critical within evaluated
-- within grid), the shares lie in [0, 1], is_exhausted says share > budget, and is_latest marks the series' last
-- grid time alone. Its counts against metric_status are pinned by the unit test and tests/quality/test_error_budget.py.
-- Returns the rows that fail.
with

error_budget as (

    select * from {{ ref('error_budget') }}

),

ranked as (

    select
        error_budget.*,
        row_number() over (
            partition by phase, metric, dimension, {{ adapter.quote('window') }}
            order by eval_at
        ) as grid_position,
        max(eval_at) over (partition by phase, metric, dimension, {{ adapter.quote('window') }}) as last_eval_at
    from error_budget

),

final as (

    select
        phase,
        eval_at,
        metric,
        dimension
    from ranked
    where grid_times <> grid_position
        or critical_times > evaluated_times
        or evaluated_times > grid_times
        or critical_times < 0
        or critical_share < 0
        or critical_share > 1
        or budget_share < 0
        or budget_share > 1
        or is_exhausted <> (critical_share > budget_share)
        or is_latest <> (eval_at = last_eval_at)

)

select * from final
