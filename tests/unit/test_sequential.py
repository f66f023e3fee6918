"""The confidence sequences of rolloutctl.decision.sequential: known answers, and the property that makes them
worth having: the true value stays inside at every look, with probability ≥ 1 − α, where a fixed-sample interval
looked at as often does not."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolloutctl.decision import sequential as seq
from tests.support.tiers import LONG

ALPHA = 0.05
# each example simulates 300 streams of 100 looks
STREAM_EXAMPLES = 60 if LONG else 8


def test_log_evidence_known_answers():
    # n = 1, one bad: M = B(a + 1, b) / B(a, b) / p0 = a / (a + b) / p0 = ½ / p0 under Beta(½, ½)
    assert seq.log_evidence(1, 1, 0.25) == pytest.approx(math.log(2.0), abs=1e-12)
    # n = 2, one bad: M = a·b / ((a + b)(a + b + 1)) / (p0 (1 − p0)) = 1/8 / (p0 (1 − p0))
    assert seq.log_evidence(1, 2, 0.1) == pytest.approx(math.log(0.125 / 0.09), abs=1e-12)
    # Beta(2, 8), n = 1, none bad: M = b / (a + b) / (1 − p0)
    assert seq.log_evidence(0, 1, 0.2, (2.0, 8.0)) == pytest.approx(math.log(0.8 / 0.8), abs=1e-12)
    assert seq.log_evidence(0, 0, 0.3) == 0.0


def test_rate_cs_holds_the_estimate_and_its_ends_sit_on_the_boundary():
    lower, upper = seq.rate_cs(10, 1000, ALPHA)
    assert lower < 0.01 < upper
    for end in (lower, upper):
        assert seq.log_evidence(10, 1000, end) == pytest.approx(math.log(1 / ALPHA), abs=1e-6)
    assert seq.rate_cs(0, 0, ALPHA) == (0.0, 1.0)
    assert seq.rate_cs(0, 50, ALPHA)[0] == 0.0 and seq.rate_cs(50, 50, ALPHA)[1] == 1.0


def test_restart_alphas_sum_to_alpha():
    assert sum(seq.restart_alpha(k, ALPHA) for k in range(100_000)) == pytest.approx(ALPHA, rel=1e-4)


def _ever_excluded(p: float, streams: int, looks: int, seed: int, rule: bool = False) -> np.ndarray:
    """For each of `streams` Bernoulli(p) streams looked at after every 10th of `looks` observations: did the
    (1 − α) sequence ever exclude p (rule: did the rule testing the threshold p fire)?"""
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.random((streams, looks)) < p, axis=1)[:, 9::10]
    n = np.broadcast_to(np.arange(10, looks + 1, 10), x.shape)
    if rule:
        return np.vectorize(lambda bad, m: seq.excludes_above(int(bad), int(m), p, ALPHA))(x, n).any(axis=1)
    level = math.log(1 / ALPHA)
    return (np.vectorize(lambda bad, m: seq.log_evidence(int(bad), int(m), p))(x, n) >= level).any(axis=1)


def _wilson_ever_excluded(p: float, streams: int, looks: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.random((streams, looks)) < p, axis=1).astype(float)
    n = np.arange(1, looks + 1, dtype=float)
    z = 1.959963984540054
    share = x / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return ((p < centre - half) | (p > centre + half))[:, 20:].any(axis=1)


@settings(max_examples=STREAM_EXAMPLES)
@given(p=st.floats(0.02, 0.5), seed=st.integers(0, 2**32 - 1))
def test_the_sequence_covers_the_true_rate_at_every_look(p, seed):
    # 300 streams, 100 looks each: the share that ever miss stays at α (plus three standard errors)
    missed = _ever_excluded(p, 300, 1000, seed).mean()
    assert missed <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 300)


@settings(max_examples=STREAM_EXAMPLES)
@given(p0=st.floats(0.005, 0.3), seed=st.integers(0, 2**32 - 1))
def test_a_rule_at_its_threshold_fires_at_most_alpha_of_the_time(p0, seed):
    # the true rate at the rule's threshold, the worst case of its null; the rule's mixture is centred there
    fired = _ever_excluded(p0, 300, 1000, seed, rule=True).mean()
    assert fired <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 300)


def test_wilson_looked_at_as_often_misses_far_more_than_alpha():
    # the reason for the sequences: Wilson's 95% interval, checked after every sample from the 20th on
    assert _wilson_ever_excluded(0.1, 300, 1000, 7).mean() > 3 * ALPHA


@given(values=st.lists(st.floats(1.0, 5000.0), min_size=1, max_size=400), x=st.floats(1.0, 5000.0),
       alpha=st.sampled_from([0.05, 0.01, 0.2]))
def test_the_p95_sequence_lies_above_x_exactly_when_the_exceedance_test_fires(values, x, alpha):
    lower, upper = seq.quantile_cs(values, 0.95, alpha)
    above = sum(v > x for v in values)
    assert (lower > x) == seq.excludes_above(above, len(values), 0.05, alpha)
    assert lower <= upper


def test_the_p95_sequence_covers_the_true_p95_of_a_lognormal():
    rng = np.random.default_rng(3)
    true_p95 = 250 * math.exp(1.6448536269514722 * 0.5)
    missed = 0
    for _ in range(200):
        xs = np.exp(math.log(250) + 0.5 * rng.standard_normal(600))
        lows = [seq.quantile_cs(xs[:n], 0.95, ALPHA)[0] for n in range(50, 601, 50)]
        missed += any(low > true_p95 for low in lows)
    assert missed / 200 <= ALPHA


def _pairs_ever_worse(p_t: float, p_c: float, streams: int, pairs: int, seed: int) -> np.ndarray:
    """For each of `streams` streams of (treatment, control) pairs with failure rates p_t and p_c, looked at after
    every 10th pair: did pairs_worse ever fire?"""
    rng = np.random.default_rng(seed)
    t = rng.random((streams, pairs)) < p_t
    c = rng.random((streams, pairs)) < p_c
    t_only = np.cumsum(t & ~c, axis=1)[:, 9::10]
    c_only = np.cumsum(c & ~t, axis=1)[:, 9::10]
    return np.vectorize(lambda a, b: seq.pairs_worse(int(a), int(b), ALPHA))(t_only, c_only).any(axis=1)


@settings(max_examples=STREAM_EXAMPLES)
@given(p=st.floats(0.01, 0.5), seed=st.integers(0, 2**32 - 1))
def test_the_pairs_test_fires_at_most_alpha_of_the_time_when_the_cohorts_fail_alike(p, seed):
    fired = _pairs_ever_worse(p, p, 300, 1000, seed).mean()
    assert fired <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 300)


def test_the_pairs_test_finds_a_treatment_that_fails_more_and_not_one_that_fails_less():
    # restore −1 pt against a healthy control: 1.15% against 0.15%, 3,000 pairs (about 40 h of the demo's restores)
    assert _pairs_ever_worse(0.0115, 0.0015, 200, 3000, 11).mean() > 0.95
    assert not _pairs_ever_worse(0.0015, 0.0115, 200, 3000, 11).any()


def test_the_pairs_test_known_answer_and_bad_input():
    # 5 pairs, all the treatment's, uniform mixture: M = B(6, 1) / B(1, 1) / 0.5^5 = (1/6) · 32
    assert seq.log_evidence(5, 5, 0.5, seq.UNIFORM) == pytest.approx(math.log(32 / 6), abs=1e-12)
    assert seq.pairs_worse(5, 0, 0.2) and not seq.pairs_worse(5, 0, 0.1)
    with pytest.raises(ValueError, match="≥ 0"):
        seq.pairs_worse(-1, 3, ALPHA)
    with pytest.raises(ValueError, match="same non-empty grid"):
        seq.p95_worse([(1, 10)], [(1, 10), (2, 10)], ALPHA)


@settings(max_examples=STREAM_EXAMPLES)
@given(t_share=st.floats(0.05, 0.5), seed=st.integers(0, 2**32 - 1))
def test_the_p95_comparison_holds_alpha_when_the_control_sits_at_the_level(t_share, seed):
    # The null's worst case for a level x just under both p95s (the treatment's at most the control's): the
    # treatment's claim "above x" is true as often as it likes (t_share of samples above x), so the comparison errs
    # exactly when the control's test wrongly puts its p95 under x; the control's share above x is 5%.
    rng = np.random.default_rng(seed)
    n = np.arange(50, 5001, 50)
    t_above = np.cumsum(rng.binomial(50, t_share, (300, n.size)), axis=1)
    c_above = np.cumsum(rng.binomial(50, 0.05, (300, n.size)), axis=1)
    fired = np.vectorize(lambda ta, ca, m: seq.p95_worse([(int(ta), int(m))], [(int(ca), int(m))], ALPHA))(
        t_above, c_above, n).any(axis=1).mean()
    assert fired <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 300)


def test_the_p95_comparison_finds_a_slower_treatment_and_needs_the_control_below_the_level():
    # p95 +50%: at 700 ms the treatment's share above is 10.6%, a healthy control's 2.0%; after 2,000 saves each
    assert seq.p95_worse([(212, 2000)], [(40, 2000)], ALPHA)
    # the same treatment against a control as slow: no verdict, whatever the treatment's own sequence says
    assert seq.excludes_above(212, 2000, 0.05, ALPHA)
    assert not seq.p95_worse([(212, 2000)], [(212, 2000)], ALPHA)
