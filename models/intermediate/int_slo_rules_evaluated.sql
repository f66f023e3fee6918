-- Rules over marts.metric_status as a whole (the SLO rows: autosave_p95 1h, restore 24h, merge 24h):
--   critical_since_phase_start  critical rows at any T' with phase start < T' <= T ("zero SLO violations");
--   sustained_critical          the longest trailing-24h run of critical evaluations of one SLO row;
--   clean_days                  of the N (= threshold) UTC days before T's day, those with evaluations of the phase
--                               and no critical row.
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

phase_starts as (

    select * from {{ ref('int_phase_starts_resolved') }}

),

slo_evaluations as (

    select * from {{ ref('int_slo_evaluations_counted') }}

),

slo_days as (

    select * from {{ ref('int_slo_days_summarized') }}

),

rules as (

    select * from gate_rules
    where measure in ('critical_since_phase_start', 'sustained_critical', 'clean_days')

),

-- running totals at T minus those at the last grid time at or before the phase start (none: nothing to subtract)
since_start as (

    select
        phase_starts.phase,
        phase_starts.eval_at,
        phase_starts.phase_started_at,
        at_t.critical_rows_to_date - coalesce(at_start.critical_rows_to_date, 0) as critical_rows,
        at_t.evaluable_rows_to_date - coalesce(at_start.evaluable_rows_to_date, 0) as evaluable_rows
    from phase_starts
    inner join slo_evaluations as at_t
        on at_t.phase = phase_starts.phase
        and at_t.eval_at = phase_starts.eval_at
    left join slo_evaluations as at_start
        on at_start.phase = phase_starts.phase
        and at_start.eval_at = {{ time_bucket_start(time_bucket_index('phase_starts.phase_started_at', 15), 15) }}

),

critical_since_start_rules as (

    select
        rules.rule_id,
        since_start.phase,
        since_start.eval_at,
        cast(since_start.critical_rows as double) as value,
        rules.threshold,
        since_start.evaluable_rows as sample_count,
        -- no SLO row of the phase had enough data since it started: "zero violations" would mean nothing
        since_start.evaluable_rows = 0 as has_insufficient_data,
        coalesce({{ gate_compare('since_start.critical_rows', 'rules.comparator', 'rules.threshold') }}, false)
            as is_condition_met,
        'critical metric_status rows since the phase started at '
        || {{ format_time(utc_wallclock('since_start.phase_started_at'), '%Y-%m-%dT%H:%M:%SZ') }} as detail
    from rules
    inner join since_start
        on since_start.phase = rules.phase
    where rules.measure = 'critical_since_phase_start'

),

sustained_rules as (

    select
        rules.rule_id,
        slo_evaluations.phase,
        slo_evaluations.eval_at,
        cast(slo_evaluations.max_critical_in_trailing_24h as double) as value,
        rules.threshold,
        slo_evaluations.evaluable_rows as sample_count,
        -- no SLO row can be judged at T
        slo_evaluations.evaluable_rows = 0 as has_insufficient_data,
        coalesce(
            {{ gate_compare('slo_evaluations.max_critical_in_trailing_24h', 'rules.comparator', 'rules.threshold') }},
            false
        ) as is_condition_met,
        'longest run of critical evaluations of one SLO row in the trailing 24h' as detail
    from rules
    inner join slo_evaluations
        on slo_evaluations.phase = rules.phase
    where rules.measure = 'sustained_critical'

),

days_before_t as (

    select
        rules.rule_id,
        rules.comparator,
        rules.threshold,
        eval_times.phase,
        eval_times.eval_at,
        count(slo_days.eval_day) as days_with_evaluations,
        count(case when slo_days.critical_rows > 0 then 1 end) as days_with_critical
    from rules
    inner join eval_times
        on eval_times.phase = rules.phase
    left join slo_days
        on slo_days.phase = eval_times.phase
        and slo_days.eval_day >= eval_times.eval_day - cast(rules.threshold as integer)
        and slo_days.eval_day < eval_times.eval_day
    where rules.measure = 'clean_days'
    group by rules.rule_id, rules.comparator, rules.threshold, eval_times.phase, eval_times.eval_at

),

clean_days_rules as (

    select
        rule_id,
        phase,
        eval_at,
        cast(days_with_evaluations - days_with_critical as double) as value,
        threshold,
        days_with_evaluations as sample_count,
        -- no day seen critical, but some of the days have no evaluation of the phase yet
        days_with_critical = 0 and days_with_evaluations < cast(threshold as integer) as has_insufficient_data,
        coalesce(
            {{ gate_compare('days_with_evaluations - days_with_critical', 'comparator', 'threshold') }}, false
        ) as is_condition_met,
        days_with_evaluations || ' of the ' || cast(threshold as integer) || ' days before T''s day evaluated, '
        || days_with_critical || ' with a critical row' as detail
    from days_before_t

),

final as (

    select * from critical_since_start_rules
    union all
    select * from sustained_rules
    union all
    select * from clean_days_rules

)

select * from final
