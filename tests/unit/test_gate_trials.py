"""Gate trials (rolloutctl.simulation.gate_trials): the p95 decision from window counts is quantile_cont's, the SQL
sequences are the reference's, the trials are a pure function of the seed, and (long tier) the issue's figures."""
from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolloutctl.decision import sequential as seq
from rolloutctl.simulation import gate_trials as trials

BY_NAME = {s.name: s for s in trials.SCENARIOS}


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    trials.define_macros(con)
    yield con
    con.close()


@settings(max_examples=300)
@given(values=st.lists(st.floats(0.0, 4000.0).map(lambda v: round(v, 1)), min_size=1, max_size=300),
       level=st.sampled_from([900.0, 2500.0, 250.0]) | st.floats(0.0, 4000.0))
def test_the_p95_decision_from_counts_is_quantile_conts(con, values, level):
    # ties included (values rounded to 0.1 ms, as the generator writes them)
    con.execute("create or replace temp table samples as select unnest(?::double[]) as v", [values])
    exact, from_counts = con.execute("""
        select
            quantile_cont(v, 0.95) > $level,
            p95_above(count(*), count_if(v <= $level), max(v) filter (where v <= $level),
                      min(v) filter (where v > $level), $level)
        from samples""", {"level": level}).fetchone()
    assert from_counts == exact


@given(n=st.integers(0, 50_000), share=st.floats(0, 1), p0=st.floats(0.001, 0.5))
def test_the_sql_sequence_is_the_reference(con, n, share, p0):
    bad = round(share * n)
    a, b = seq.threshold_prior(p0)
    sql_log_m, sql_fires = con.execute("select log_evidence($x, $n, $p0, $a, $b), cs_above($x, $n, $p0, 0.01)",
                                       {"x": bad, "n": n, "p0": p0, "a": a, "b": b}).fetchone()
    assert sql_log_m == pytest.approx(seq.log_evidence(bad, n, p0, (a, b)), rel=1e-9, abs=1e-6)
    assert sql_fires == seq.excludes_above(bad, n, p0, 0.01)


def test_the_known_answer_of_the_sql_sequence(con):
    # n = 2, one bad, Jeffreys: M = 1/8 / (p0 (1 − p0))
    assert con.execute("select log_evidence(1, 2, 0.1, 0.5, 0.5)").fetchone()[0] == pytest.approx(
        seq.log_evidence(1, 2, 0.1), abs=1e-12)


def _run(seed, names=("aa", "restore_-1pt"), rollouts=3):
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")
        trials.load_buckets(con, rollouts, seed, tuple(BY_NAME[n] for n in names))
        trials.evaluate(con)
        buckets = con.execute("select * from buckets order by scenario, rollout, bucket").fetchall()
        firsts = con.execute("select * from first_rollbacks order by all").fetchall()
        return buckets, firsts, trials.summarise(con)
    finally:
        con.close()


def test_the_trials_are_a_pure_function_of_the_seed():
    first, again, other = _run(5), _run(5), _run(6)
    assert first == again
    assert first[0] != other[0]


def test_a_scenario_draws_the_same_rollouts_alone_or_among_others():
    alone = _run(5, names=("restore_-1pt",))[0]
    among = [row for row in _run(5)[0] if row[0] == "restore_-1pt"]
    assert alone == among


def test_a_regression_changes_only_its_metric_from_its_phase_on():
    rows = _run(9, names=("restore_-1pt",), rollouts=40)[0]
    before = [r for r in rows if r[2] < r[4]]
    after = [r for r in rows if r[2] >= r[4]]
    cols = trials._draw(BY_NAME["aa"], 1, 0).column_names
    fail, n = cols.index("f_restore"), cols.index("n_restore")
    assert sum(r[fail] for r in before) / sum(r[n] for r in before) < 0.004
    assert sum(r[fail] for r in after) / sum(r[n] for r in after) > 0.009


@pytest.mark.long
def test_the_issues_figures_at_200_rollouts():
    result = trials.run_trials(rollouts=200, seed=1)
    rows = {(r["scenario"], r["policy"]): r for r in result.summary}
    # the anytime-valid policy keeps its family-wise 5% on A/A rollouts, at the demo's and a fifth of its traffic
    assert rows[("aa", "anytime")]["false_rollback_rate"] <= 0.05
    assert rows[("aa_low_traffic", "anytime")]["false_rollback_rate"] <= 0.05
    # and catches every supra-threshold step the seed's rules catch
    for name in ("p95_+75%", "p95_+100%", "p95_flap_+100%"):
        assert rows[(name, "anytime")]["detection_rate"] == 1.0
    assert rows[("restore_-1pt", "anytime")]["detection_rate"] >= 0.9
    # with the control comparison: still 5% on A/A, and every rollout the seed caught at +50% p95 and −1 pt restore
    for name in ("aa", "aa_low_traffic"):
        assert rows[(name, "anytime_with_control")]["false_rollback_rate"] <= 0.05
    for name in ("p95_+50%", "restore_-1pt"):
        assert rows[(name, "seed")]["detection_rate"] > 0.9
        assert rows[(name, "anytime_with_control")]["seed_caught_missed"] == 0


def test_burn_rate_windows_are_the_workbooks_over_30_days_and_shrink_with_the_phase():
    assert trials.burn_windows(30 * 24) == [(4, 1, 14.4), (24, 2, 6.0), (96, 8, 3.0), (288, 24, 1.0)]
    # a 60-hour phase: a twelfth, never below one evaluation
    assert trials.burn_windows(60) == [(1, 1, 14.4), (2, 1, 6.0), (8, 1, 3.0), (24, 2, 1.0)]


@given(t_only=st.integers(0, 3000), c_only=st.integers(0, 3000), alpha=st.sampled_from([0.05, 0.05 / 21, 1e-4]))
def test_the_sql_pairs_test_is_the_reference(con, t_only, c_only, alpha):
    fired = con.execute("select pairs_worse($t, $c, $alpha)", {"t": t_only, "c": c_only, "alpha": alpha}).fetchone()[0]
    assert fired == seq.pairs_worse(t_only, c_only, alpha)


@given(n_t=st.integers(0, 20_000), n_c=st.integers(0, 20_000),
       shares=st.lists(st.floats(0, 0.3), min_size=6, max_size=6), alpha=st.sampled_from([0.05, 0.05 / 21]))
def test_the_sql_p95_comparison_is_the_reference(con, n_t, n_c, shares, alpha):
    # above the 600/700/800 ms levels: counts that fall with the level, as they must
    t_above = sorted((round(s * n_t) for s in shares[:3]), reverse=True)
    c_above = sorted((round(s * n_c) for s in shares[3:]), reverse=True)
    fired = con.execute(
        "select p95_worse($nt - $t1, $nt - $t2, $nt - $t3, $nt, $nc - $c1, $nc - $c2, $nc - $c3, $nc, $alpha)",
        {"nt": n_t, "nc": n_c, "t1": t_above[0], "t2": t_above[1], "t3": t_above[2],
         "c1": c_above[0], "c2": c_above[1], "c3": c_above[2], "alpha": alpha}).fetchone()[0]
    assert bool(fired) == seq.p95_worse(list(zip(t_above, [n_t] * 3)), list(zip(c_above, [n_c] * 3)), alpha)


def test_the_control_cohort_pairs_are_consistent_with_the_cohorts_counts():
    table = trials._draw(BY_NAME["restore_-1pt"], 30, 4).to_pydict()
    for n_t, f_t, n_c, f_c, d_t, d_c in zip(*(table[k] for k in (
            "n_restore", "f_restore", "n_restore_c", "f_restore_c", "d_t_restore", "d_c_restore"))):
        assert 0 <= d_t <= f_t and 0 <= d_c <= f_c and d_t + d_c <= min(n_t, n_c)
    # the treatment's bands nest inside its ≤ 900 ms count, the control's inside its saves
    for row in zip(*(table[k] for k in ("t_le_600", "t_le_700", "t_le_800", "c_le_900", "c_le_600", "c_le_700",
                                        "c_le_800", "n_save_c"))):
        assert row[0] <= row[1] <= row[2] <= row[3] and row[4] <= row[5] <= row[6] <= row[7]
