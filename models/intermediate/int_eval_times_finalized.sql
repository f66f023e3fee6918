-- Per phase and T: whether T is final. T is final once the watermark of every finality stream (seeds/
-- watermark_lateness) that has events in the phase is at least T + its allowed lateness: no event of the windows
-- ending at T can still arrive on time. A phase with events of no finality stream has every T final.
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

phase_features as (

    select distinct
        phase,
        feature
    from events

),

phase_watermarks as (

    select
        phase_features.phase,
        min(watermarks.watermark_at) as watermark_at,
        min(watermarks.final_until) as final_until,
        list(watermarks.feature order by watermarks.feature) as finality_features
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
        coalesce(phase_watermarks.finality_features, []) as finality_features,
        phase_watermarks.phase is null or eval_times.eval_at <= phase_watermarks.final_until as is_final
    from eval_times
    left join phase_watermarks
        on phase_watermarks.phase = eval_times.phase

)

select * from final
