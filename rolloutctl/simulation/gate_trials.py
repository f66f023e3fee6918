"""Gate trials: how often a verdict policy rolls back a healthy rollout, and how fast it catches a regression.

    result = run_trials(rollouts=200, seed=1)
    result.summary      # per scenario and policy: false-rollback rate, detection rate, delay quantiles

Policies: `seed` (the seed's rollback rules), `seed_3_consecutive` (each needs 3 consecutive evaluations),
`burn_rate` (multi-window multi-burn-rate on the SLO statuses), `anytime` (confidence sequences at the rules'
thresholds) and `anytime_with_control` (the same, or the treatment certified worse than a control cohort running
at the same time: every simulated rollout has one, at the same traffic, never regressed).

N rollouts per scenario, each of the demo's shape (ten days, 30,000 events a day on the generator's diurnal
curve and event mix, phases A-0 24 h → A-1 48 h → A-2 60 h → B-0 48 h → B-1 60 h), with events drawn i.i.d. (the
demo's generator is healthy *by construction*: stratified latencies and evenly spread failures hide the noise a
gate meets in production; here every count is a fresh draw).

Vectorised, not one dbt build per rollout. Every rule the policies use reads, at a grid time T, only additive counts
over its window of 15-minute buckets, except the p95: so each rollout is drawn as per-bucket aggregates (one row per
scenario, rollout and bucket) and the policies run as one DuckDB query over all of them (gate_trials.sql). For the
p95 the rule needs `quantile_cont(duration_ms, 0.95) > x`, which is a function of four numbers of the window: its
size n, the count c of samples ≤ x, the largest sample ≤ x and the smallest > x (with h = 0.95·(n − 1): true when
c ≤ ⌊h⌋, false when c ≥ ⌊h⌋ + 2, else the interpolation between those two samples decides). The buckets carry
exactly those (the extremes of each latency band, drawn from their exact conditional distributions given the band
counts), and window extremes are the extremes of the buckets' extremes, so a rule outcome here has the same
distribution as the model's on i.i.d. events (tests/unit/test_gate_trials.py checks the decision function against
DuckDB's quantile_cont on raw samples).

Not simulated: QA, bugs, incidents (deterministic inputs, the same under every policy), late data (each bucket is
complete at its T), promotion (phases follow the plan; a rollout's outcome is its first rollback).
"""
from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from rolloutctl.decision.sequential import PRIOR_SIZE
from rolloutctl.simulation.telemetry import MIX_A, MIX_B, SAVE_MEDIAN_MS, SAVE_SIGMA, _norm_ppf

SQL = Path(__file__).with_name("gate_trials.sql")

BUCKET_MIN = 15
PER_HOUR = 60 // BUCKET_MIN
DAYS = 10
EVENTS_PER_DAY = 30_000
PHASES = ("A-0", "A-1", "A-2", "B-0", "B-1")
PHASE_HOURS = (24, 48, 60, 48, 60)          # the generator's 10/20/25/20/25 % of ten days
START = "2026-11-01 00:00:00"
LEVELS_MS = (900.0, 2500.0)                 # the p95 thresholds the rules compare with
RESTORE_FAIL_P = 0.0015
CRASH_P = (0.0050, 0.0047)                  # A-0 (the baseline), after
MERGE_ACCEPT = (0.82, 0.82, 0.82, 0.88, 0.90)
# the control comparison of the p95 tests "the treatment's p95 is above the control's" at these levels (ms): the
# warn level and one either side; see gate_trials.sql
CONTROL_P95_LEVELS_MS = (600.0, 700.0, 800.0)

# The anytime-valid policy: family-wise α over the rollout, split evenly over its sequential rules, a fresh sequence
# every RESTART_HOURS. Each statistical rollback rule of the seed becomes a sequence at its threshold: A-1 p95 > 2500
# (and breach hours), p95 critical, restore; A-2 the same plus crash; B-0 merge; B-1 (sustained critical) the three
# SLO metrics' critical levels: 3 + 4 + 1 + 3.
ALPHA = 0.05
CS_RULES = 11
# anytime_with_control: the same 11, and a control comparison of the p95 and of restores in A-1 … B-1 and of merges in
# B-0 and B-1 (4 + 4 + 2), all at an even share of the same family-wise alpha
CONTROL_RULES = 10
RESTART_HOURS = 6

# The burn-rate policy: the SRE workbook's pairs (long hours, short hours, burn factor) for a 30-day budget period,
# scaled to each phase's length (at least one evaluation each), on the SLO statuses with their budget shares
# (governance/metric_thresholds.csv: critical_budget_share).
SRE_PAIRS = ((1.0, 5 / 60, 14.4), (6.0, 0.5, 6.0), (24.0, 2.0, 3.0), (72.0, 6.0, 1.0))
BUDGET_PERIOD_HOURS = 30 * 24
SLO_BUDGETS = (("p95", "is_p95_status_critical", 0.02), ("restore", "is_restore_status_critical", 0.05),
               ("merge", "is_merge_status_critical", 0.05))


def burn_windows(phase_hours: float) -> list[tuple[int, int, float]]:
    """(long, short, factor) in evaluations for a phase of `phase_hours`."""
    scale = phase_hours / BUDGET_PERIOD_HOURS * PER_HOUR
    return [(max(1, round(long * scale)), max(1, round(short * scale)), factor) for long, short, factor in SRE_PAIRS]


def _burn_sql() -> dict[str, str]:
    sizes = sorted({n for hours in PHASE_HOURS for pair in burn_windows(hours) for n in pair[:2]})
    columns = ",\n    ".join(
        f"avg({flag}::int) over (recent rows between {n - 1} preceding and current row) as {name}_w{n}"
        for name, flag, _ in SLO_BUDGETS for n in sizes)
    phases = []
    for phase, hours in zip(PHASES, PHASE_HOURS):
        pairs = [f"({name}_w{long} >= {factor * budget!r} and {name}_w{short} >= {factor * budget!r})"
                 for name, _, budget in SLO_BUDGETS for long, short, factor in burn_windows(hours)]
        phases.append(f"(phase = '{phase}' and ({' or '.join(pairs)}))")
    return {"burn_rate_columns": columns, "burn_rate_fired": "\n    or ".join(phases)}


@dataclass(frozen=True)
class Scenario:
    """One kind of rollout: what changes, from which phase on, and by how much."""

    name: str
    metric: str = "none"            # none | p95 | restore | merge
    size: float = 0.0               # p95: relative (+0.5 = +50%); restore/merge: points of rate (−0.01 = −1 pt)
    shape: str = "step"             # step | drift (reaches `size` after 24 h) | flap (on and off hourly)
    from_phase: str = "A-2"
    traffic: float = 1.0

    @property
    def is_regression(self) -> bool:
        return self.metric != "none"


SCENARIOS = (
    Scenario("aa"),
    Scenario("aa_low_traffic", traffic=0.2),
    Scenario("p95_+10%", "p95", 0.10),
    Scenario("p95_+25%", "p95", 0.25),
    Scenario("p95_+50%", "p95", 0.50),
    Scenario("p95_+75%", "p95", 0.75),
    Scenario("p95_+100%", "p95", 1.00),
    Scenario("p95_drift_+100%", "p95", 1.00, "drift"),
    Scenario("p95_flap_+100%", "p95", 1.00, "flap"),
    Scenario("restore_-0.3pt", "restore", -0.003),
    Scenario("restore_-1pt", "restore", -0.01),
    Scenario("restore_drift_-1pt", "restore", -0.01, "drift"),
    Scenario("merge_-5pt", "merge", -0.05, from_phase="B-0"),
    Scenario("merge_-10pt", "merge", -0.10, from_phase="B-0"),
)


@dataclass
class TrialsResult:
    rollouts: int
    seed: int
    scenarios: list[str]
    summary: list[dict] = field(default_factory=list)     # one row per scenario and policy
    first_rollbacks: list[dict] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"rollouts": self.rollouts, "seed": self.seed, "alpha": ALPHA, "cs_rules": CS_RULES,
                "control_rules": CONTROL_RULES,
                "restart_hours": RESTART_HOURS, "scenarios": self.scenarios, "summary": self.summary}


def _phase_of_bucket() -> tuple[np.ndarray, list[int]]:
    firsts = np.cumsum((0,) + PHASE_HOURS) * PER_HOUR
    buckets = int(firsts[-1])
    return np.searchsorted(firsts[1:], np.arange(buckets), "right"), firsts.tolist()


def _profile(s: Scenario, buckets: int, firsts: list[int]) -> np.ndarray:
    """How far the regression has gone at each bucket: 0 before it, 1 at full size."""
    at = np.arange(buckets) - firsts[PHASES.index(s.from_phase)]
    on = (at >= 0).astype(float)
    if s.shape == "drift":
        on *= np.clip((at + 1) / (24 * PER_HOUR), 0, 1)
    elif s.shape == "flap":
        on *= (at // PER_HOUR) % 2 == 0
    return on if s.is_regression else np.zeros(buckets)


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    return np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in np.ravel(z)]).reshape(np.shape(z))


def _draw(s: Scenario, rollouts: int, seed: int) -> pa.Table:
    """Per-bucket aggregates of `rollouts` rollouts of scenario s."""
    rng = np.random.default_rng([seed, zlib.crc32(s.name.encode())])
    phase, firsts = _phase_of_bucket()
    buckets = phase.size
    hour = (np.arange(buckets) * BUCKET_MIN + BUCKET_MIN / 2) / 60 % 24
    volume = EVENTS_PER_DAY / (24 * PER_HOUR) * (1 + 0.55 * np.cos(2 * np.pi * (hour - 14) / 24)) * s.traffic
    mix = np.where((phase >= 3)[:, None], np.array(MIX_B), np.array(MIX_A))   # save, restore, lock, merge, session
    on = _profile(s, buckets, firsts)
    shape = (rollouts, buckets)

    # saves: lognormal; a p95 regression of +x scales every duration by (1 + x * on)
    mu = math.log(SAVE_MEDIAN_MS) + np.log1p((s.size if s.metric == "p95" else 0.0) * on)
    f_lo, f_hi = (_norm_cdf((math.log(level) - mu) / SAVE_SIGMA) for level in LEVELS_MS)
    n_save = rng.poisson(volume * mix[:, 0], shape)
    c_hi = rng.binomial(n_save, 1 - f_hi)                                           # > 2500
    c_mid = rng.binomial(n_save - c_hi, np.clip((f_hi - f_lo) / f_hi, 0, 1))        # (900, 2500]
    c_lo = n_save - c_hi - c_mid                                                    # ≤ 900

    def value(u):
        return np.exp(mu + SAVE_SIGMA * _norm_ppf(np.clip(u, 1e-300, 1 - 1e-16)))

    def top(k, lo, hi, v):      # the largest of k uniforms on (lo, hi), from one uniform v
        return np.where(k > 0, value(lo + (hi - lo) * v ** (1 / np.maximum(k, 1))), np.nan)

    def bottom(k, lo, hi, v):   # the smallest of k uniforms on (lo, hi)
        return np.where(k > 0, value(lo + (hi - lo) * (1 - v ** (1 / np.maximum(k, 1)))), np.nan)

    u = rng.random((4,) + shape)
    max_lo = top(c_lo, 0.0, f_lo, u[0])
    max_mid = top(c_mid, f_lo, f_hi, u[1])
    # the band's smallest given its largest: the other k − 1 lie uniformly below it
    v_max = f_lo + (f_hi - f_lo) * u[1] ** (1 / np.maximum(c_mid, 1))
    min_mid = np.where(c_mid > 1, value(f_lo + (v_max - f_lo) * (1 - u[2] ** (1 / np.maximum(c_mid - 1, 1)))),
                       max_mid)
    min_hi = bottom(c_hi, f_hi, 1.0, u[3])

    p_fail = RESTORE_FAIL_P - (s.size * on if s.metric == "restore" else 0.0)
    n_restore = rng.poisson(volume * mix[:, 1], shape)
    f_restore = rng.binomial(n_restore, np.clip(p_fail, 0, 1))
    n_session = rng.poisson(volume * mix[:, 4], shape)
    f_session = rng.binomial(n_session, np.where(phase == 0, CRASH_P[0], CRASH_P[1]))
    accept = np.array(MERGE_ACCEPT)[phase] + (s.size * on if s.metric == "merge" else 0.0)
    n_merge = rng.poisson(volume * mix[:, 3], shape)
    f_merge = rng.binomial(n_merge, np.clip(1 - accept, 0, 1))

    # The control cohort (every scenario has one, at the same traffic, never regressed), drawn after the treatment so
    # the treatment's draws do not depend on it. Saves: counts at or below each comparison level, for both cohorts
    # (the treatment's split from its ≤ 900 band by the conditional probabilities). Restores and merges: the cohorts'
    # events are paired in order within each bucket (min(n_t, n_c) pairs, as the warehouse pairs them); the counts of
    # pairs where only the treatment's or only the control's event failed follow from hypergeometric draws (which
    # of a cohort's events fall in the paired prefix, and which failed events of the two prefixes share a pair).
    f_levels = [_norm_cdf((math.log(level) - mu) / SAVE_SIGMA) for level in CONTROL_P95_LEVELS_MS]
    mu_c = math.log(SAVE_MEDIAN_MS)
    f_levels_c = [float(_norm_cdf(np.array((math.log(level) - mu_c) / SAVE_SIGMA))) for level in CONTROL_P95_LEVELS_MS]
    n_save_c = rng.poisson(volume * mix[:, 0], shape)
    le_t, le_c = {}, {}
    above_t, above_c, f_above_t, f_above_c = c_lo, n_save_c, f_lo, 1.0
    for level, f_t, f_c in sorted(zip(CONTROL_P95_LEVELS_MS, f_levels, f_levels_c), reverse=True):
        above_t = rng.binomial(above_t, np.clip(f_t / f_above_t, 0, 1))
        above_c = rng.binomial(above_c, np.clip(f_c / f_above_c, 0, 1))
        le_t[level], le_c[level], f_above_t, f_above_c = above_t, above_c, f_t, f_c

    def discordant(n_t, f_t, p_c, kind):
        n_c = rng.poisson(volume * mix[:, kind], shape)
        f_c = rng.binomial(n_c, np.clip(p_c, 0, 1))
        pairs = np.minimum(n_t, n_c)
        a = rng.hypergeometric(f_t, n_t - f_t, pairs)          # failed treatment events among the paired ones
        b = rng.hypergeometric(f_c, n_c - f_c, pairs)
        both = rng.hypergeometric(a, pairs - a, b)               # pairs where both failed
        return n_c, f_c, a - both, b - both

    n_restore_c, f_restore_c, d_t_restore, d_c_restore = discordant(n_restore, f_restore, RESTORE_FAIL_P, 1)
    n_merge_c, f_merge_c, d_t_merge, d_c_merge = discordant(n_merge, f_merge, 1 - np.array(MERGE_ACCEPT)[phase], 3)

    def col(a):  # NaN (an empty band's extreme) becomes NULL
        return pa.array(np.ravel(a), from_pandas=True)

    regression_at = firsts[PHASES.index(s.from_phase)] if s.is_regression else -1
    return pa.table({
        "scenario": np.full(rollouts * buckets, s.name, dtype=object),
        "rollout": np.repeat(np.arange(rollouts, dtype=np.int32), buckets),
        "bucket": np.tile(np.arange(buckets, dtype=np.int32), rollouts),
        "phase": np.tile(np.array(PHASES, dtype=object)[phase], rollouts),
        "regression_bucket": np.full(rollouts * buckets, regression_at, dtype=np.int32),
        "n_save": col(n_save), "c_le_900": col(c_lo), "c_le_2500": col(c_lo + c_mid),
        "max_le_900": col(max_lo), "min_gt_900": col(np.where(c_mid > 0, min_mid, min_hi)),
        "max_le_2500": col(np.where(c_mid > 0, max_mid, max_lo)), "min_gt_2500": col(min_hi),
        "n_restore": col(n_restore), "f_restore": col(f_restore),
        "n_session": col(n_session), "f_session": col(f_session),
        "n_merge": col(n_merge), "f_merge": col(f_merge),
        "n_save_c": col(n_save_c),
        **{f"t_le_{int(level)}": col(le_t[level]) for level in CONTROL_P95_LEVELS_MS},
        **{f"c_le_{int(level)}": col(le_c[level]) for level in CONTROL_P95_LEVELS_MS},
        "n_restore_c": col(n_restore_c), "f_restore_c": col(f_restore_c),
        "d_t_restore": col(d_t_restore), "d_c_restore": col(d_c_restore),
        "n_merge_c": col(n_merge_c), "f_merge_c": col(f_merge_c),
        "d_t_merge": col(d_t_merge), "d_c_merge": col(d_c_merge),
    })


def load_buckets(con: duckdb.DuckDBPyConnection, rollouts: int, seed: int, scenarios=SCENARIOS) -> None:
    """Create table `buckets`: every scenario's rollouts as per-bucket aggregates."""
    tables = [_draw(s, rollouts, seed) for s in scenarios]
    merged = pa.concat_tables(tables)  # noqa: F841 - read by DuckDB's replacement scan below
    con.execute("create or replace table buckets as select * from merged")


def _statements() -> list[str]:
    params = {"alpha_rule": ALPHA / CS_RULES, "alpha_rule_control": ALPHA / (CS_RULES + CONTROL_RULES),
              "restart_buckets": RESTART_HOURS * PER_HOUR,
              "prior_size": PRIOR_SIZE, "start": START}
    text = SQL.read_text(encoding="utf-8")
    for name, value in _burn_sql().items():
        text = text.replace("{" + name + "}", value)
    for name, value in params.items():
        text = text.replace("{" + name + "}", repr(value) if not isinstance(value, str) else f"'{value}'")
    # comments may hold semicolons; no string literal holds "--"
    return [s.strip() for s in re.sub(r"--[^\n]*", "", text).split(";") if s.strip()]


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Only the SQL macros of gate_trials.sql (p95_above, log_evidence, cs_above, n_kl, kl_upper)."""
    for statement in _statements():
        if statement.startswith("create or replace macro"):
            con.execute(statement)


def evaluate(con: duckdb.DuckDBPyConnection) -> None:
    """Run gate_trials.sql over `buckets`: tables `fires` (every policy's rollback rules per grid time) and
    `first_rollbacks` (per scenario, rollout and policy)."""
    for statement in _statements():
        con.execute(statement)


def summarise(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Per scenario and policy: false-rollback and detection rates, delay quantiles (minutes), and how many of the
    rollouts the seed's rules caught (a rollback at or after the regression's start) this policy did not."""
    rows = con.execute("""
        select
            policies.scenario,
            policies.policy,
            count(*) as rollouts,
            avg(case when policies.regression_bucket < 0 then (policies.first_any is not null)::int
                     else (policies.first_before is not null)::int end) as false_rollback_rate,
            avg(case when policies.regression_bucket >= 0 then (policies.first_after is not null)::int end)
                as detection_rate,
            median((policies.first_after + 1 - policies.regression_bucket) * 15) as median_delay_min,
            quantile_cont((policies.first_after + 1 - policies.regression_bucket) * 15, 0.9) as p90_delay_min,
            count_if(seed.first_after is not null and policies.first_after is null) as seed_caught_missed
        from first_rollbacks as policies
        inner join first_rollbacks as seed
            on seed.scenario = policies.scenario
            and seed.rollout = policies.rollout
            and seed.policy = 'seed'
        group by policies.scenario, policies.policy
        order by policies.scenario, policies.policy
    """).fetchall()
    keys = ("scenario", "policy", "rollouts", "false_rollback_rate", "detection_rate", "median_delay_min",
            "p90_delay_min", "seed_caught_missed")
    return [dict(zip(keys, r)) for r in rows]


def run_trials(rollouts: int = 200, seed: int = 1, scenarios=SCENARIOS, database: str = ":memory:") -> TrialsResult:
    """Simulate `rollouts` rollouts of each scenario and measure every policy on them; deterministic for a seed."""
    if rollouts < 1:
        raise ValueError("rollouts must be ≥ 1")
    con = duckdb.connect(database)
    try:
        con.execute("set enable_progress_bar = false")
        load_buckets(con, rollouts, seed, scenarios)
        evaluate(con)
        result = TrialsResult(rollouts, seed, [s.name for s in scenarios], summarise(con))
    finally:
        con.close()
    return result
