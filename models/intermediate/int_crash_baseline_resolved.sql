-- The crash-rate baseline (one row): the gate_parameters override when set, else the crash rate over every
-- app.session.ended of phase A-0; NULL with neither (the crash rule then has insufficient data).
with

gate_parameters as (

    select * from {{ ref('gate_parameters') }}

),

sessions as (

    select * from {{ ref('stg_telemetry__session_ended') }}

),

override as (

    select value as baseline
    from gate_parameters
    where parameter = 'crash_rate_baseline'

),

observed as (

    select
        count(*) as sessions,
        avg(case when is_crashed then 1.0 else 0.0 end) as crash_rate
    from sessions
    where phase = 'A-0'

),

final as (

    select
        coalesce(override.baseline, observed.crash_rate) as baseline,
        case
            when override.baseline is not null then 'gate_parameters'
            when observed.crash_rate is not null then 'A-0 sessions'
            else 'none'
        end as baseline_source,
        observed.sessions as a0_sessions
    from observed
    left join override on true

)

select * from final
