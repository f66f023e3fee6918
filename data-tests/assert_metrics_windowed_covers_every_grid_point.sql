-- Every phase's grid is complete (SPEC §5): one evaluation time per 15 minutes from floor15(first event) + 15 min
-- to floor15(last event) + 15 min, each with a row for every catalogued metric and dimension and every window.
-- Returns grid points that are missing, extra, or have the wrong number of rows.
{%- set windows = metric_windows() %}

with

grid_bounds as (

    select
        phase,
        min({{ time_bucket_index('event_at', 15) }}) + 1 as first_eval_index,
        max({{ time_bucket_index('event_at', 15) }}) + 1 as last_eval_index
    from {{ ref('stg_telemetry__events') }}
    group by phase

),

expected as (

    select
        phase,
        {{ time_bucket_start('eval_index', 15) }} as eval_at,
        (select count(*) from {{ ref('metric_catalog') }}) * {{ windows | length }} as expected_rows
    from (
        select phase, {{ integer_series('first_eval_index', 'last_eval_index') }} as eval_index
        from grid_bounds
    )

),

actual as (

    select phase, eval_at, count(*) as actual_rows
    from {{ ref('metrics_windowed') }}
    group by phase, eval_at

)

select
    coalesce(expected.phase, actual.phase) as phase,
    coalesce(expected.eval_at, actual.eval_at) as eval_at,
    expected.expected_rows,
    actual.actual_rows
from expected
full outer join actual
    on actual.phase = expected.phase
    and actual.eval_at = expected.eval_at
where expected.expected_rows is distinct from actual.actual_rows
