-- Hysteresis counts are whole evaluations, at least one: a rule cannot fire or clear after zero of them.
select
    phase,
    rule_id,
    fire_after,
    clear_after
from {{ ref('gate_rule_hysteresis') }}
where fire_after < 1 or clear_after < 1
