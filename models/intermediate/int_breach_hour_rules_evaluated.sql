-- Rules of measure daily_breach_hours (SPEC §5): at T, the clock hours of T's day that have ended by T and whose
-- 1h value is above the breach level (gate_parameters.breach_hour_level_ms); an hour counts only with at least
-- the rule's min_samples samples.
with

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

gate_parameters as (

    select * from {{ ref('gate_parameters') }}

),

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

rules as (

    select * from gate_rules
    where measure = 'daily_breach_hours'

),

breach_level as (

    select value as level_ms
    from gate_parameters
    where parameter = 'breach_hour_level_ms'

),

-- a full-hour T' closes the clock hour [T' - 1h, T'), which lies in T''s day (T''s day is the date of T' - 15 min)
hours as (

    select
        rules.rule_id,
        rules.comparator,
        rules.threshold,
        metrics_windowed.phase,
        metrics_windowed.eval_at,
        eval_times.eval_day,
        case
            when eval_times.is_full_hour
                and metrics_windowed.sample_count >= rules.min_samples
                and metrics_windowed.value > breach_level.level_ms
                then 1
            else 0
        end as is_breach_hour
    from rules
    inner join metrics_windowed
        on metrics_windowed.phase = rules.phase
        and metrics_windowed.metric = rules.metric
        and metrics_windowed.dimension = rules.dimension
        and metrics_windowed.{{ adapter.quote('window') }} = rules.{{ adapter.quote('window') }}
    inner join eval_times
        on eval_times.phase = metrics_windowed.phase
        and eval_times.eval_at = metrics_windowed.eval_at
    cross join breach_level

),

counted as (

    select
        rule_id,
        comparator,
        threshold,
        phase,
        eval_at,
        eval_day,
        sum(is_breach_hour) over (
            partition by rule_id, phase, eval_day
            order by eval_at
            rows between unbounded preceding and current row
        ) as breach_hours
    from hours

),

final as (

    select
        counted.rule_id,
        counted.phase,
        counted.eval_at,
        cast(counted.breach_hours as double) as value,
        counted.threshold,
        cast(null as bigint) as sample_count,
        false as has_insufficient_data,
        coalesce({{ gate_compare('counted.breach_hours', 'counted.comparator', 'counted.threshold') }}, false)
            as is_condition_met,
        'hours of ' || {{ format_time('counted.eval_day', '%Y-%m-%d') }} || ' ended by T with 1h p95 above '
        || {{ format_g('breach_level.level_ms') }} || ' ms' as detail
    from counted
    cross join breach_level

)

select * from final
