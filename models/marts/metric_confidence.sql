-- Every rate row of marts.metrics_windowed with its 95% Wilson score interval: how far the true rate may lie from
-- the share observed over sample_count events (199 of 200 is 0.995, yet the interval reaches down to 0.972).
-- Gate rules may compare a bound instead of the point value (gate_rules.bound).
with

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

metric_catalog as (

    select * from {{ ref('metric_catalog') }}

),

rates as (

    select metrics_windowed.*
    from metrics_windowed
    inner join metric_catalog
        on metric_catalog.metric = metrics_windowed.metric
        and metric_catalog.dimension = metrics_windowed.dimension
    where metric_catalog.kind = 'rate'

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
        0.95 as confidence_level,
        {{ wilson_bound('value', 'sample_count', 'lower') }} as lower_bound,
        {{ wilson_bound('value', 'sample_count', 'upper') }} as upper_bound
    from rates

)

select * from final
