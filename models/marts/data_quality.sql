-- One row: whether the data can be trusted to promote on. Not when more than gate_parameters.max_reject_share of
-- the lines ingested in the 24 h up to the latest ingest were rejected, nor when a data test of the latest build
-- failed (rolloutctl records those after the build and rebuilds this mart). Rollback never waits for it.
with

rejects as (

    select * from {{ ref('int_ingest_rejects_summarized') }}

),

test_failures as (

    select * from {{ ref('stg_quality__build_test_failures') }}

),

gate_parameters as (

    select * from {{ ref('gate_parameters') }}

),

max_share as (

    select coalesce(max(value), 0.01) as max_reject_share
    from gate_parameters
    where parameter = 'max_reject_share'

),

failing as (

    select
        {{ ordered_list('test_name', 'test_name') }} as failing_tests,
        max(recorded_at) as tests_recorded_at
    from test_failures

),

measured as (

    select
        rejects.checked_from,
        rejects.checked_through,
        rejects.loaded_through,
        coalesce(rejects.ingested_lines, 0) as ingested_lines,
        coalesce(rejects.rejected_lines, 0) as rejected_lines,
        -- no line ingested: nothing was rejected either
        case
            when coalesce(rejects.ingested_lines, 0) > 0
                then cast(rejects.rejected_lines as double) / rejects.ingested_lines
        end as reject_share,
        max_share.max_reject_share,
        coalesce(failing.failing_tests, {{ empty_list() }}) as failing_tests,
        failing.tests_recorded_at
    from max_share
    cross join failing
    left join rejects
        on true

),

final as (

    select
        *,
        coalesce(reject_share, 0) <= max_reject_share as is_reject_share_ok,
        {{ list_length('failing_tests') }} > 0 as has_failing_tests,
        coalesce(reject_share, 0) <= max_reject_share and {{ list_length('failing_tests') }} = 0 as is_ok
    from measured

)

select * from final
