-- Values agree with their kind (governance/metric_catalog.csv): a count equals its sample_count; a rate lies in [0, 1]
-- and a rate or quantile is NULL exactly when its window is empty; metric, dimension and feature are catalogued.
with

metrics_windowed as (

    select * from {{ ref('metrics_windowed') }}

),

metric_catalog as (

    select * from {{ ref('metric_catalog') }}

)

select
    metrics_windowed.eval_at,
    metrics_windowed.phase,
    metrics_windowed.feature,
    metrics_windowed.metric,
    metrics_windowed.dimension,
    metrics_windowed.{{ adapter.quote('window') }},
    metrics_windowed.value,
    metrics_windowed.sample_count,
    metric_catalog.kind
from metrics_windowed
left join metric_catalog
    on metric_catalog.metric = metrics_windowed.metric
    and metric_catalog.dimension = metrics_windowed.dimension
where metric_catalog.kind is null
    or metric_catalog.feature <> metrics_windowed.feature
    or metrics_windowed.sample_count < 0
    or (
        metric_catalog.kind = 'count'
        and metrics_windowed.value is distinct from cast(metrics_windowed.sample_count as double)
    )
    or (
        metric_catalog.kind in ('rate', 'quantile')
        and (metrics_windowed.value is null) <> (metrics_windowed.sample_count = 0)
    )
    or (metric_catalog.kind = 'rate' and not metrics_windowed.value between 0 and 1)
    or (metric_catalog.kind = 'quantile' and metrics_windowed.value < 0)
