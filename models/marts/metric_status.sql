-- SPEC §6: every thresholded (phase, T, metric, dimension, window) with its levels and status, decided critical-first.
with

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

metric_thresholds as (

    select * from {{ ref('metric_thresholds') }}

),

phase_flags as (

    select * from {{ ref('phase_flags') }}

),

thresholded as (

    select
        metrics_windowed.*,
        metric_thresholds.breach_when,
        metric_thresholds.warn_level,
        metric_thresholds.critical_level,
        metric_thresholds.min_samples,
        metric_phase.phase_order >= first_phase.phase_order as is_applicable
    from metrics_windowed
    inner join metric_thresholds
        on metric_thresholds.metric = metrics_windowed.metric
        and metric_thresholds.dimension = metrics_windowed.dimension
        and metric_thresholds.{{ adapter.quote('window') }} = metrics_windowed.{{ adapter.quote('window') }}
    inner join phase_flags as metric_phase
        on metric_phase.phase = metrics_windowed.phase
    inner join phase_flags as first_phase
        on first_phase.phase = metric_thresholds.applies_from_phase

),

final as (

    select
        eval_at,
        phase,
        feature,
        metric,
        dimension,
        {{ adapter.quote('window') }},
        value,
        sample_count,
        warn_level,
        critical_level,
        min_samples,
        -- critical first: with the seed's restore levels (warn 0.97 below critical 0.995) warn is unreachable
        case
            when not is_applicable then 'not_applicable'
            when sample_count < min_samples or value is null then 'insufficient_data'
            when (breach_when = 'above' and value > critical_level)
                or (breach_when = 'below' and value < critical_level) then 'critical'
            when (breach_when = 'above' and value > warn_level)
                or (breach_when = 'below' and value < warn_level) then 'warn'
            else 'ok'
        end as status
    from thresholded

)

select * from final
