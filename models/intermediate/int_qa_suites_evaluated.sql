-- QA progress of each suite of each phase at each T: the cases whose latest result in the phase (the result with the
-- greatest event time before T) is pass or fail, and how many pass results the suite has had before T.
with

qa_results as (

    select * from {{ ref('stg_telemetry__qa_case_result') }}

),

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

-- a result is its case's latest for every T after it, up to and including the time of the case's next result;
-- of two results at the same instant, fail is taken as the later one (the conservative reading)
case_results as (

    select
        phase,
        suite,
        case_id,
        result,
        recorded_at,
        coalesce(
            lead(recorded_at) over (
                partition by phase, suite, case_id
                order by recorded_at, result = 'fail'
            ),
            {{ timestamp_infinity() }}
        ) as superseded_at
    from qa_results

),

latest_by_t as (

    select
        eval_times.phase,
        eval_times.eval_at,
        case_results.suite,
        count_if(case_results.result = 'pass') as cases_passing,
        count_if(case_results.result = 'fail') as cases_failing
    from eval_times
    inner join case_results
        on case_results.phase = eval_times.phase
        and case_results.recorded_at < eval_times.eval_at
        and case_results.superseded_at >= eval_times.eval_at
    group by eval_times.phase, eval_times.eval_at, case_results.suite

),

-- pass results numbered in time order; the n-th is the running count from its time until the next pass
passes as (

    select
        phase,
        suite,
        recorded_at,
        row_number() over (partition by phase, suite order by recorded_at) as passes_so_far,
        coalesce(
            lead(recorded_at) over (partition by phase, suite order by recorded_at),
            {{ timestamp_infinity() }}
        ) as next_pass_at
    from qa_results
    where result = 'pass'

),

passes_by_t as (

    select
        eval_times.phase,
        eval_times.eval_at,
        passes.suite,
        max(passes.passes_so_far) as pass_results
    from eval_times
    inner join passes
        on passes.phase = eval_times.phase
        and passes.recorded_at < eval_times.eval_at
        and passes.next_pass_at >= eval_times.eval_at
    group by eval_times.phase, eval_times.eval_at, passes.suite

),

final as (

    select
        latest_by_t.phase,
        latest_by_t.eval_at,
        latest_by_t.suite,
        latest_by_t.cases_passing,
        latest_by_t.cases_failing,
        coalesce(passes_by_t.pass_results, 0) as pass_results
    from latest_by_t
    left join passes_by_t
        on passes_by_t.phase = latest_by_t.phase
        and passes_by_t.eval_at = latest_by_t.eval_at
        and passes_by_t.suite = latest_by_t.suite

)

select * from final
