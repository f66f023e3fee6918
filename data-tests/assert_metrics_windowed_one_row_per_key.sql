-- marts.metrics_windowed has one row per (phase, eval_at, metric, dimension, window): returns the keys that repeat.
select
    phase,
    eval_at,
    metric,
    dimension,
    {{ adapter.quote('window') }},
    count(*) as rows_per_key
from {{ ref('metrics_windowed') }}
group by phase, eval_at, metric, dimension, {{ adapter.quote('window') }}
having count(*) > 1
