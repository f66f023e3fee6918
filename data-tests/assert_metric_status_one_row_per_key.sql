-- marts.metric_status has one row per thresholded (phase, eval_at, metric, dimension, window): returns repeats.
select
    phase,
    eval_at,
    metric,
    dimension,
    {{ adapter.quote('window') }},
    count(*) as rows_per_key
from {{ ref('metric_status') }}
group by phase, eval_at, metric, dimension, {{ adapter.quote('window') }}
having count(*) > 1
