-- Rules over QA suites (the suite is the rule's dimension):
--   qa_cases_passing   cases whose latest result in the phase is pass, against the threshold;
--   qa_suite_all_pass  the same, and no case's latest result is fail;
--   qa_has_pass        pass results of the suite in the phase before T.
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

qa_suites as (

    select * from {{ ref('int_qa_suites_evaluated') }}

),

rules as (

    select * from gate_rules
    where measure in ('qa_cases_passing', 'qa_suite_all_pass', 'qa_has_pass')

),

progress as (

    select
        rules.rule_id,
        rules.measure,
        rules.comparator,
        rules.threshold,
        rules.dimension as suite,
        eval_times.phase,
        eval_times.eval_at,
        coalesce(qa_suites.cases_passing, 0) as cases_passing,
        coalesce(qa_suites.cases_failing, 0) as cases_failing,
        coalesce(qa_suites.pass_results, 0) as pass_results
    from rules
    inner join eval_times
        on eval_times.phase = rules.phase
    left join qa_suites
        on qa_suites.phase = eval_times.phase
        and qa_suites.eval_at = eval_times.eval_at
        and qa_suites.suite = rules.dimension

),

measured as (

    select
        *,
        case when measure = 'qa_has_pass' then pass_results else cases_passing end as measured_value
    from progress

),

final as (

    select
        rule_id,
        phase,
        eval_at,
        cast(measured_value as double) as value,
        threshold,
        case when measure = 'qa_has_pass' then pass_results else cases_passing + cases_failing end as sample_count,
        false as has_insufficient_data,
        coalesce({{ gate_compare('measured_value', 'comparator', 'threshold') }}, false)
        and (measure <> 'qa_suite_all_pass' or cases_failing = 0) as is_condition_met,
        'suite ' || suite || ': ' || cases_passing || ' cases passing, ' || cases_failing
        || ' failing (latest result), ' || pass_results || ' pass results' as detail
    from measured

)

select * from final
