-- marts.gate_verdicts departs from the rules only to hold back a promotion (or to name data_quality on a hold):
-- it never promotes on a T that is not final or on data that is not ok, and rollback and review pass unchanged.
select
    verdicts.phase,
    verdicts.eval_at,
    verdicts.decision,
    decisions.decision as rules_decision
from {{ ref('gate_verdicts') }} as verdicts
inner join {{ ref('gate_decisions') }} as decisions
    on decisions.phase = verdicts.phase
    and decisions.eval_at = verdicts.eval_at
where verdicts.rules_decision <> decisions.decision
    or (verdicts.decision = 'promote' and not (verdicts.is_final and verdicts.is_data_quality_ok))
    or (decisions.decision in ('rollback', 'review') and verdicts.decision <> decisions.decision)
    or (verdicts.decision <> decisions.decision and verdicts.decision <> 'hold')
