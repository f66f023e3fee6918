-- Gate trials (gate_trials.py): the rollback rules of SPEC §7 under three policies, over table `buckets` (one row
-- per scenario, rollout and 15-minute bucket, with the bucket's additive counts and latency-band extremes).
-- The point rules mirror models/intermediate/int_*_rules_evaluated.sql; the grid time T of a bucket is its end, a
-- window of length W at T holds the phase's buckets ending in (T − W, T].

-- quantile_cont(duration_ms, 0.95) > level from the window's size n, count c of samples ≤ level, the largest of
-- them and the smallest above (see gate_trials.py for why these decide it)
create or replace macro p95_above(n, c, max_le, min_gt, level) as
    case
        when n < 1 then null
        when c <= floor(0.95 * (n - 1)) then true
        when c >= floor(0.95 * (n - 1)) + 2 or c = n then false
        else max_le + (0.95 * (n - 1) - floor(0.95 * (n - 1))) * (min_gt - max_le) > level
    end;

-- log of the beta-binomial mixture martingale (mixing Beta(a, b)) after x bad of n at the rate p0 (Howard et al.
-- 2021; the reference is rolloutctl/decision/sequential.py)
create or replace macro log_evidence(x, n, p0, a, b) as
    case
        when n > 0
            then lgamma(a + x) + lgamma(b + n - x) - lgamma(a + b + n) - (lgamma(a) + lgamma(b) - lgamma(a + b))
            - x * ln(p0) - (n - x) * ln(1 - p0)
        else 0.0
    end;

-- the test of p0 rejects it from above at alpha, anytime-valid (mixing Beta({prior_size}·p0, {prior_size}·(1 − p0)))
create or replace macro cs_above(x, n, p0, alpha) as
    x > p0 * n and log_evidence(x, n, p0, {prior_size} * p0, {prior_size} * (1 - p0)) >= ln(1 / alpha);

-- the test of p0 rejects it from below: the rate is under p0 (the control side of the p95 comparison)
create or replace macro cs_below(x, n, p0, alpha) as
    x < p0 * n and log_evidence(x, n, p0, {prior_size} * p0, {prior_size} * (1 - p0)) >= ln(1 / alpha);

-- the treatment fails more often than the control: of the pairs (treatment event, control event) where exactly one
-- failed, the treatment's share is above ½. Under "the cohorts' rates are equal" each such pair is the treatment's
-- with probability exactly ½ whatever the common rate (p(1 − p) either way), so the mixture test at ½ is exact;
-- under "the treatment's rate is at most the control's" the share is ≤ ½ and the test is conservative. This is
-- Wald's (1947, Sequential Analysis) test of two proportions on pairs with unlike outcomes, here with the
-- beta-binomial mixture of Howard et al. (2021) in place of the SPRT's fixed alternative. The mixture is uniform,
-- Beta(1, 1): a regression's share is far from ½ (0.89 for restore −1 pt) and a prior centred on ½ would mute it.
create or replace macro pairs_worse(d_t, d_c, alpha) as
    d_t > 0.5 * (d_t + d_c) and log_evidence(d_t, d_t + d_c, 0.5, 1.0, 1.0) >= ln(1 / alpha);

-- the treatment's p95 is above the control's (Howard & Ramdas 2022, §4's two-sample use of the quantile sequences):
-- at some level x, the treatment's sequence lies above x and the control's below it. If the treatment's p95 is at
-- most the control's, at every x one of the two claims is false, so each level costs the error of one test: the
-- levels split alpha (a union bound), the two tests of a level each run at the level's share
create or replace macro p95_worse(t600, t700, t800, nt, c600, c700, c800, nc, alpha) as
    (cs_above(nt - t600, nt, 0.05, alpha / 3) and cs_below(nc - c600, nc, 0.05, alpha / 3))
    or (cs_above(nt - t700, nt, 0.05, alpha / 3) and cs_below(nc - c700, nc, 0.05, alpha / 3))
    or (cs_above(nt - t800, nt, 0.05, alpha / 3) and cs_below(nc - c800, nc, 0.05, alpha / 3));

-- n · KL(x/n ‖ p): the Chernoff exponent of a rate observed once, at a fixed n
create or replace macro n_kl(x, n, p) as
    (case when x > 0 then x * ln(x / (n * p)) else 0.0 end)
    + (case when x < n then (n - x) * ln((n - x) / (n * (1 - p))) else 0.0 end);

-- the Chernoff upper bound of a rate seen once (P(true rate above it) ≤ alpha), by bisection: the crash baseline is
-- the whole of A-0, read once it is over, so a fixed-sample bound is valid for it
create or replace macro kl_upper(x, n, alpha) as
    case
        when n = 0 or x = n then 1.0
        else list_reduce(
            range(60),
            lambda acc, i: case
                when n_kl(x, n, (acc[1] + acc[2]) / 2) < ln(1 / alpha) then [(acc[1] + acc[2]) / 2, acc[2]]
                else [acc[1], (acc[1] + acc[2]) / 2]
            end,
            [x / n, 1.0]
        )[1]
    end;

create or replace table windows as
select
    scenario,
    rollout,
    bucket,
    phase,
    regression_bucket,
    timestamp {start} + to_minutes((bucket + 1) * 15) as eval_at,
    bucket - min(bucket) over ph as phase_bucket,
    sum(n_save) over h1 as n_save_1h,
    sum(c_le_900) over h1 as c_le_900_1h,
    max(max_le_900) over h1 as max_le_900_1h,
    min(min_gt_900) over h1 as min_gt_900_1h,
    sum(c_le_2500) over h1 as c_le_2500_1h,
    max(max_le_2500) over h1 as max_le_2500_1h,
    min(min_gt_2500) over h1 as min_gt_2500_1h,
    sum(n_restore) over d1 as n_restore_24h,
    sum(f_restore) over d1 as f_restore_24h,
    sum(n_session) over d1 as n_session_24h,
    sum(f_session) over d1 as f_session_24h,
    sum(n_merge) over d1 as n_merge_24h,
    sum(f_merge) over d1 as f_merge_24h,
    sum(n_save) over cum as cum_n_save,
    sum(n_save - c_le_900) over cum as cum_gt_900,
    sum(n_save - c_le_2500) over cum as cum_gt_2500,
    sum(n_restore) over cum as cum_n_restore,
    sum(f_restore) over cum as cum_f_restore,
    sum(n_session) over cum as cum_n_session,
    sum(f_session) over cum as cum_f_session,
    sum(n_merge) over cum as cum_n_merge,
    sum(f_merge) over cum as cum_f_merge,
    sum(n_save_c) over cum as cum_n_save_c,
    sum(t_le_600) over cum as cum_t_le_600,
    sum(t_le_700) over cum as cum_t_le_700,
    sum(t_le_800) over cum as cum_t_le_800,
    sum(c_le_600) over cum as cum_c_le_600,
    sum(c_le_700) over cum as cum_c_le_700,
    sum(c_le_800) over cum as cum_c_le_800,
    sum(d_t_restore) over cum as cum_d_t_restore,
    sum(d_c_restore) over cum as cum_d_c_restore,
    sum(d_t_merge) over cum as cum_d_t_merge,
    sum(d_c_merge) over cum as cum_d_c_merge
from buckets
window
    ph as (partition by scenario, rollout, phase),
    h1 as (partition by scenario, rollout, phase order by bucket rows between 3 preceding and current row),
    d1 as (partition by scenario, rollout, phase order by bucket rows between 95 preceding and current row),
    cum as (partition by scenario, rollout, phase order by bucket rows between unbounded preceding and current row);

-- the crash baseline: every A-0 session (SPEC §7), with the upper end of its sequence for the anytime-valid rule
create or replace table baselines as
select
    scenario,
    rollout,
    sum(f_session) / sum(n_session) as crash_baseline,
    kl_upper(sum(f_session), sum(n_session), {alpha_rule} / 2) as crash_baseline_upper
from buckets
where phase = 'A-0'
group by scenario, rollout;

create or replace table point_rules as
with measured as (
    select
        windows.*,
        baselines.crash_baseline,
        baselines.crash_baseline_upper,
        windows.n_save_1h >= 20
        and p95_above(n_save_1h, c_le_900_1h, max_le_900_1h, min_gt_900_1h, 900.0) as is_p95_critical,
        windows.n_save_1h >= 20
        and p95_above(n_save_1h, c_le_2500_1h, max_le_2500_1h, min_gt_2500_1h, 2500.0) as is_p95_above_2500,
        (n_restore_24h - f_restore_24h) / nullif(n_restore_24h, 0) as restore_success_24h,
        f_session_24h / nullif(n_session_24h, 0) as crash_rate_24h,
        (n_merge_24h - f_merge_24h) / nullif(n_merge_24h, 0) as merge_rate_24h,
        (windows.eval_at - interval 15 minute)::date as eval_day
    from windows
    inner join baselines using (scenario, rollout)
),

ruled as (
    select
        *,
        phase = 'A-1' and is_p95_above_2500 as a1_rollback_p95_1h,
        phase = 'A-1' and n_restore_24h >= 50 and restore_success_24h < 0.995 as a1_rollback_restore_24h,
        phase in ('A-1', 'A-2') and is_p95_critical as rollback_p95_critical,
        phase = 'A-2' and n_restore_24h >= 50 and restore_success_24h <= 0.995 as a2_rollback_restore_failure,
        phase = 'A-2' and n_session_24h >= 50 and crash_rate_24h > 1.05 * crash_baseline as a2_rollback_crash_rate,
        phase = 'B-0' and n_merge_24h >= 50 and merge_rate_24h < 0.80 as b0_rollback_merge_rate,
        phase in ('A-1', 'A-2') and minute(eval_at) = 0 and is_p95_above_2500 as is_breach_hour,
        -- metric_status critical: p95 1h and restore 24h from A-1 on, merge 24h from B-0 on
        phase <> 'A-0' and is_p95_critical as is_p95_status_critical,
        phase <> 'A-0' and n_restore_24h >= 50 and restore_success_24h < 0.995 as is_restore_status_critical,
        phase in ('B-0', 'B-1') and n_merge_24h >= 50 and merge_rate_24h < 0.80 as is_merge_status_critical,
        -- SLO rows critical (metric_status): p95 1h, restore 24h from A-1 on, merge 24h from B-0 on
        phase = 'B-1' and (
            is_p95_critical
            or (n_restore_24h >= 50 and restore_success_24h < 0.995)
            or (n_merge_24h >= 50 and merge_rate_24h < 0.80)
        ) as is_slo_critical
    from measured
)

select
    ruled.*,
    coalesce(
        sum(is_breach_hour::int) over (
            partition by scenario, rollout, phase, eval_day order by bucket
            rows between unbounded preceding and current row
        ) >= 3,
        false
    ) as rollback_breach_hours,
    -- one metric critical at all 96 evaluations of the trailing 24 h (any of the three, conservatively)
    sum(is_slo_critical::int) over (
        partition by scenario, rollout, phase order by bucket rows between 95 preceding and current row
    ) = 96 as b1_rollback_sustained_critical
from ruled;

-- a fresh sequence every {restart_buckets} buckets of the phase; sequence k runs at alpha_rule / ((k + 1)(k + 2))
create or replace table restarts as
select
    windows.scenario,
    windows.rollout,
    windows.phase,
    windows.bucket as restart_bucket,
    1.0 / ((windows.phase_bucket // {restart_buckets} + 1) * (windows.phase_bucket // {restart_buckets} + 2))
        as restart_share,
    -- the running sums before the restart's bucket
    windows.cum_n_save - buckets.n_save as cum_n_save,
    windows.cum_gt_900 - (buckets.n_save - buckets.c_le_900) as cum_gt_900,
    windows.cum_gt_2500 - (buckets.n_save - buckets.c_le_2500) as cum_gt_2500,
    windows.cum_n_restore - buckets.n_restore as cum_n_restore,
    windows.cum_f_restore - buckets.f_restore as cum_f_restore,
    windows.cum_n_session - buckets.n_session as cum_n_session,
    windows.cum_f_session - buckets.f_session as cum_f_session,
    windows.cum_n_merge - buckets.n_merge as cum_n_merge,
    windows.cum_f_merge - buckets.f_merge as cum_f_merge,
    windows.cum_n_save_c - buckets.n_save_c as cum_n_save_c,
    windows.cum_t_le_600 - buckets.t_le_600 as cum_t_le_600,
    windows.cum_t_le_700 - buckets.t_le_700 as cum_t_le_700,
    windows.cum_t_le_800 - buckets.t_le_800 as cum_t_le_800,
    windows.cum_c_le_600 - buckets.c_le_600 as cum_c_le_600,
    windows.cum_c_le_700 - buckets.c_le_700 as cum_c_le_700,
    windows.cum_c_le_800 - buckets.c_le_800 as cum_c_le_800,
    windows.cum_d_t_restore - buckets.d_t_restore as cum_d_t_restore,
    windows.cum_d_c_restore - buckets.d_c_restore as cum_d_c_restore,
    windows.cum_d_t_merge - buckets.d_t_merge as cum_d_t_merge,
    windows.cum_d_c_merge - buckets.d_c_merge as cum_d_c_merge
from windows
inner join buckets using (scenario, rollout, bucket)
where windows.phase in ('A-1', 'A-2', 'B-0', 'B-1') and windows.phase_bucket % {restart_buckets} = 0;

create or replace table sequential_rules as
with joined as (
    select
        windows.scenario,
        windows.rollout,
        windows.bucket,
        windows.phase,
        {alpha_rule} * restarts.restart_share as alpha_k,
        {alpha_rule_control} * restarts.restart_share as alpha_kc,
        baselines.crash_baseline_upper,
        -- counts since the restart: the running sums at T minus those before it
        windows.cum_n_save - restarts.cum_n_save as n_save,
        windows.cum_gt_900 - restarts.cum_gt_900 as gt_900,
        windows.cum_gt_2500 - restarts.cum_gt_2500 as gt_2500,
        windows.cum_n_restore - restarts.cum_n_restore as n_restore,
        windows.cum_f_restore - restarts.cum_f_restore as f_restore,
        windows.cum_n_session - restarts.cum_n_session as n_session,
        windows.cum_f_session - restarts.cum_f_session as f_session,
        windows.cum_n_merge - restarts.cum_n_merge as n_merge,
        windows.cum_f_merge - restarts.cum_f_merge as f_merge,
        windows.cum_n_save_c - restarts.cum_n_save_c as n_save_c,
        windows.cum_t_le_600 - restarts.cum_t_le_600 as t_le_600,
        windows.cum_t_le_700 - restarts.cum_t_le_700 as t_le_700,
        windows.cum_t_le_800 - restarts.cum_t_le_800 as t_le_800,
        windows.cum_c_le_600 - restarts.cum_c_le_600 as c_le_600,
        windows.cum_c_le_700 - restarts.cum_c_le_700 as c_le_700,
        windows.cum_c_le_800 - restarts.cum_c_le_800 as c_le_800,
        windows.cum_d_t_restore - restarts.cum_d_t_restore as d_t_restore,
        windows.cum_d_c_restore - restarts.cum_d_c_restore as d_c_restore,
        windows.cum_d_t_merge - restarts.cum_d_t_merge as d_t_merge,
        windows.cum_d_c_merge - restarts.cum_d_c_merge as d_c_merge
    from windows
    inner join restarts
        on restarts.scenario = windows.scenario
        and restarts.rollout = windows.rollout
        and restarts.phase = windows.phase
        and restarts.restart_bucket <= windows.bucket
    inner join baselines
        on baselines.scenario = windows.scenario
        and baselines.rollout = windows.rollout
)

select
    scenario,
    rollout,
    bucket,
    -- p95 > x  ⟺  the share of samples above x exceeds 5% (Howard & Ramdas 2022); A-1's p95 > 2500 rule and
    -- A-2's breach hours (p95 above 2500 in three hours of a day) both read the sequence at 2500
    bool_or(phase in ('A-1', 'A-2') and cs_above(gt_2500, n_save, 0.05, alpha_k)) as cs_rollback_p95_2500,
    bool_or(phase in ('A-1', 'A-2', 'B-1') and cs_above(gt_900, n_save, 0.05, alpha_k)) as cs_rollback_p95_critical,
    bool_or(phase in ('A-1', 'A-2', 'B-1') and cs_above(f_restore, n_restore, 0.005, alpha_k)) as cs_rollback_restore,
    -- half the rule's alpha for the baseline's upper bound, half for the current rate
    bool_or(
        phase = 'A-2' and cs_above(f_session, n_session, least(1.05 * crash_baseline_upper, 0.999), alpha_k / 2)
    ) as cs_a2_rollback_crash_rate,
    -- B-1's sustained-critical rule reads the three SLO metrics: its sequences are the critical ones of B-1
    bool_or(phase in ('B-0', 'B-1') and cs_above(f_merge, n_merge, 0.20, alpha_k)) as cs_rollback_merge_rate,
    -- anytime_with_control: the same threshold tests at the smaller share of alpha, and the control comparisons
    -- (every phase after A-0 for the p95 and restores, B-0 and B-1 for merges)
    bool_or(
        (phase in ('A-1', 'A-2') and cs_above(gt_2500, n_save, 0.05, alpha_kc))
        or (phase in ('A-1', 'A-2', 'B-1') and cs_above(gt_900, n_save, 0.05, alpha_kc))
        or (phase in ('A-1', 'A-2', 'B-1') and cs_above(f_restore, n_restore, 0.005, alpha_kc))
        or (phase = 'A-2'
            and cs_above(f_session, n_session, least(1.05 * crash_baseline_upper, 0.999), alpha_kc / 2))
        or (phase in ('B-0', 'B-1') and cs_above(f_merge, n_merge, 0.20, alpha_kc))
    ) as cs_threshold_at_control_alpha,
    bool_or(p95_worse(t_le_600, t_le_700, t_le_800, n_save, c_le_600, c_le_700, c_le_800, n_save_c, alpha_kc))
        as ctl_rollback_p95,
    bool_or(pairs_worse(d_t_restore, d_c_restore, alpha_kc)) as ctl_rollback_restore,
    bool_or(phase in ('B-0', 'B-1') and pairs_worse(d_t_merge, d_c_merge, alpha_kc)) as ctl_rollback_merge
from joined
group by scenario, rollout, bucket;

-- multi-window, multi-burn-rate (Google SRE workbook, ch. 5): the share of critical evaluations over a long and a
-- short window, each against factor × the threshold's budget share (metric_thresholds.critical_budget_share); both
-- must exceed it. The workbook's windows are for a 30-day budget period; here scaled to each phase's length.
create or replace table burn_rates as
select
    scenario,
    rollout,
    bucket,
    phase,
    {burn_rate_columns}
from point_rules
window recent as (partition by scenario, rollout, phase order by bucket);

create or replace table burn_fires as
select
    scenario,
    rollout,
    bucket,
    coalesce({burn_rate_fired}, false) as is_burn_rate_fired
from burn_rates;

create or replace table fires as
with joined as (
    select
        point_rules.*,
        coalesce(sequential_rules.cs_rollback_p95_2500, false) as cs_rollback_p95_2500,
        coalesce(sequential_rules.cs_rollback_p95_critical, false) as cs_rollback_p95_critical,
        coalesce(sequential_rules.cs_rollback_restore, false) as cs_rollback_restore,
        coalesce(sequential_rules.cs_a2_rollback_crash_rate, false) as cs_a2_rollback_crash_rate,
        coalesce(sequential_rules.cs_rollback_merge_rate, false) as cs_rollback_merge_rate,
        coalesce(sequential_rules.cs_threshold_at_control_alpha, false) as cs_threshold_at_control_alpha,
        coalesce(sequential_rules.ctl_rollback_p95, false) as ctl_rollback_p95,
        coalesce(sequential_rules.ctl_rollback_restore, false) as ctl_rollback_restore,
        coalesce(sequential_rules.ctl_rollback_merge, false) as ctl_rollback_merge,
        burn_fires.is_burn_rate_fired
    from point_rules
    left join sequential_rules using (scenario, rollout, bucket)
    inner join burn_fires using (scenario, rollout, bucket)
),

-- hysteresis: a rule fires only once its condition held at 3 consecutive evaluations of the phase
held as (
    select
        *,
        count_if(coalesce(a1_rollback_p95_1h, false)) over last3 = 3
        or count_if(coalesce(a1_rollback_restore_24h, false)) over last3 = 3
        or count_if(coalesce(rollback_p95_critical, false)) over last3 = 3
        or count_if(coalesce(a2_rollback_restore_failure, false)) over last3 = 3
        or count_if(coalesce(a2_rollback_crash_rate, false)) over last3 = 3
        or count_if(coalesce(b0_rollback_merge_rate, false)) over last3 = 3
        or count_if(coalesce(rollback_breach_hours, false)) over last3 = 3
        or count_if(coalesce(b1_rollback_sustained_critical, false)) over last3 = 3 as is_seed_3_fired
    from joined
    window last3 as (partition by scenario, rollout, phase order by bucket rows between 2 preceding and current row)
)

select
    scenario,
    rollout,
    bucket,
    phase,
    regression_bucket,
    coalesce(
        a1_rollback_p95_1h or a1_rollback_restore_24h or rollback_p95_critical or a2_rollback_restore_failure
        or a2_rollback_crash_rate or b0_rollback_merge_rate or rollback_breach_hours or b1_rollback_sustained_critical,
        false
    ) as is_seed_fired,
    is_seed_3_fired,
    is_burn_rate_fired,
    cs_rollback_p95_2500 or cs_rollback_p95_critical or cs_rollback_restore or cs_a2_rollback_crash_rate
    or cs_rollback_merge_rate as is_anytime_fired,
    cs_threshold_at_control_alpha or ctl_rollback_p95 or ctl_rollback_restore or ctl_rollback_merge
        as is_anytime_with_control_fired,
    list_filter([
        case when a1_rollback_p95_1h then 'a1_rollback_p95_1h' end,
        case when a1_rollback_restore_24h then 'a1_rollback_restore_24h' end,
        case when rollback_p95_critical then 'rollback_p95_critical' end,
        case when a2_rollback_restore_failure then 'a2_rollback_restore_failure' end,
        case when a2_rollback_crash_rate then 'a2_rollback_crash_rate' end,
        case when b0_rollback_merge_rate then 'b0_rollback_merge_rate' end,
        case when rollback_breach_hours then 'rollback_breach_hours' end,
        case when b1_rollback_sustained_critical then 'b1_rollback_sustained_critical' end
    ], lambda r: r is not null) as seed_rules,
    list_filter([
        case when cs_rollback_p95_2500 then 'cs_rollback_p95_2500' end,
        case when cs_rollback_p95_critical then 'cs_rollback_p95_critical' end,
        case when cs_rollback_restore then 'cs_rollback_restore' end,
        case when cs_a2_rollback_crash_rate then 'cs_a2_rollback_crash_rate' end,
        case when cs_rollback_merge_rate then 'cs_rollback_merge_rate' end
    ], lambda r: r is not null) as anytime_rules,
    list_filter([
        case when cs_threshold_at_control_alpha then 'cs_threshold' end,
        case when ctl_rollback_p95 then 'ctl_rollback_p95' end,
        case when ctl_rollback_restore then 'ctl_rollback_restore' end,
        case when ctl_rollback_merge then 'ctl_rollback_merge' end
    ], lambda r: r is not null) as anytime_with_control_rules
from held;

create or replace table first_rollbacks as
with policies as (
    select scenario, rollout, bucket, regression_bucket, 'seed' as policy, is_seed_fired as is_fired, seed_rules as rules
    from fires
    union all
    select scenario, rollout, bucket, regression_bucket, 'seed_3_consecutive', is_seed_3_fired, seed_rules
    from fires
    union all
    select scenario, rollout, bucket, regression_bucket, 'anytime', is_anytime_fired, anytime_rules
    from fires
    union all
    select scenario, rollout, bucket, regression_bucket, 'anytime_with_control', is_anytime_with_control_fired,
        anytime_with_control_rules
    from fires
    union all
    select scenario, rollout, bucket, regression_bucket, 'burn_rate', is_burn_rate_fired, ['burn_rate']
    from fires
)

select
    scenario,
    rollout,
    policy,
    any_value(regression_bucket) as regression_bucket,
    min(bucket) filter (where is_fired) as first_any,
    min(bucket) filter (where is_fired and bucket < regression_bucket) as first_before,
    min(bucket) filter (where is_fired and regression_bucket >= 0 and bucket >= regression_bucket) as first_after,
    arg_min(rules, bucket) filter (where is_fired) as first_rules
from policies
group by scenario, rollout, policy;
