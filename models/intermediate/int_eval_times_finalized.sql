-- Per phase and T: whether T is final. T is final once the watermark of every finality stream (governance/
-- watermark_lateness) that the phase's rules read, and that has events in the phase, is at least T + its allowed
-- lateness: no event of the windows ending at T can still arrive on time. A phase with no such stream has every T
-- final.
with

eval_times as (

    select * from {{ ref('int_eval_times_listed') }}

),

events as (

    select * from {{ ref('stg_telemetry__events') }}

),

watermarks as (

    select * from {{ ref('int_watermarks_resolved') }}

),

gate_rules as (

    select * from {{ ref('gate_rules') }}

),

metric_catalog as (

    select * from {{ ref('metric_catalog') }}

),

metric_thresholds as (

    select * from {{ ref('metric_thresholds') }}

),

-- the features each phase's rules read: a metric's feature; every thresholded metric's feature for the rules over
-- metric_status rows; QA results and incidents (SPEC §3: features qa and app) for the rules over those events
rule_features as (

    select distinct
        gate_rules.phase,
        metric_catalog.feature
    from gate_rules
    inner join metric_catalog
        on metric_catalog.metric = gate_rules.metric
    union
    select distinct
        gate_rules.phase,
        metric_catalog.feature
    from gate_rules
    cross join metric_thresholds
    inner join metric_catalog
        on metric_catalog.metric = metric_thresholds.metric
    where gate_rules.measure in ('critical_since_phase_start', 'clean_days', 'sustained_critical')
    union
    select distinct
        phase,
        case when measure like 'qa_%' then 'qa' else 'app' end as feature
    from gate_rules
    where measure like 'qa_%' or measure = 'incident_count'

),

phase_features as (

    select distinct
        events.phase,
        events.feature
    from events
    inner join rule_features
        on rule_features.phase = events.phase
        and rule_features.feature = events.feature

),

phase_watermarks as (

    select
        phase_features.phase,
        min(watermarks.watermark_at) as watermark_at,
        min(watermarks.final_until) as final_until,
        {{ ordered_list('watermarks.feature', 'watermarks.feature') }} as finality_features
    from phase_features
    inner join watermarks
        on watermarks.feature = phase_features.feature
    where watermarks.is_finality_stream
    group by phase_features.phase

),

final as (

    select
        eval_times.phase,
        eval_times.eval_at,
        phase_watermarks.watermark_at,
        phase_watermarks.final_until,
        coalesce(phase_watermarks.finality_features, {{ empty_list() }}) as finality_features,
        phase_watermarks.phase is null or eval_times.eval_at <= phase_watermarks.final_until as is_final
    from eval_times
    left join phase_watermarks
        on phase_watermarks.phase = eval_times.phase

)

select * from final
