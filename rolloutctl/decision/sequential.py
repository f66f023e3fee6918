"""Anytime-valid confidence sequences for a rate and for a quantile: the reference implementation.

A confidence sequence (CS) holds the true value at *every* look with probability ≥ 1 − α, however often and
whenever it is looked at, so a gate that fires on "the sequence excludes the threshold" keeps its nominal error
rate under continuous monitoring (a fixed-sample interval such as Wilson's does not: five looks at α = 0.05 give
~14% false positives).

Rate (Bernoulli counts). The conjugate beta-binomial mixture of Howard, Ramdas, McAuliffe & Sekhon (2021),
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2), §3 (conjugate mixture
boundaries; the beta-binomial one for Bernoulli / sub-Bernoulli observations; Robbins 1970 for its origin): with a
Beta(a, b) mixing distribution over the alternative p, the likelihood ratio against p0,

    M_t(p0) = B(a + x_t, b + n_t − x_t) / B(a, b) / (p0^x_t · (1 − p0)^(n_t − x_t)),

is a nonnegative martingale with M_0 = 1 under p0, so by Ville's inequality P(∃t: M_t(p0) ≥ 1/α) ≤ α, and
{p : M_t(p) < 1/α} is a (1 − α) CS. log M_t(p) is convex in p with its minimum at x_t/n_t, so the CS is an interval
and "the CS lies above p0" is exactly `x_t > p0·n_t and log M_t(p0) ≥ log(1/α)`. The bounds of rate_cs mix with
Beta(½, ½) (the Krichevsky–Trofimov / Jeffreys mixture, regret ½·log n + O(1) against the best fixed p). A gate rule
tests one threshold p0, so its mixture may depend on p0 (a constant of the rule, not of the data): it uses
Beta(m·p0, m·(1 − p0)), a prior worth m = PRIOR_SIZE observations centred on the threshold — Howard et al.'s advice to
tune a conjugate mixture to the sample size where the boundary should be tight. On the demo's traffic it detects a
restore failure rate of 1.15% against 0.5% after ~36 h of data instead of ~45 h with Beta(½, ½), a merge
non-acceptance of 22% against 20% after ~23 h instead of ~31 h (expected paths; m between 100 and 400 is within 3%).

Quantile. Howard & Ramdas (2022), "Sequential estimation of quantiles with applications to A/B-testing and
best-arm identification", Bernoulli 28(3), §2: for a continuous distribution the indicators 1{X_i > Q(q)} are
Bernoulli(1 − q), so a Bernoulli CS for them at 1 − q turns into a distribution-free CS for Q(q) whose bounds are
order statistics: the lower bound is X_(j + 1), j the largest count of samples ≤ x for which the exceedance count
n − j is excluded from above. "The p95's CS lies above x" is therefore the rate test on the exceedance count at x.

Control comparison (two samples). Where events carry a cohort, a treatment and a control running at the same time:
- Rates, by discordant pairs: pair the cohorts' events in order (the warehouse and the simulation pair them within
  each 15-minute bucket); of the pairs where exactly one event failed, the treatment's share is ½ exactly when the
  two rates are equal, whatever they are (p(1 − p) either way), and at most ½ when the treatment's rate is at most
  the control's. So the one-sample test of ½ on those pairs is an anytime-valid test of "the treatment fails more
  often": Wald (1947), Sequential Analysis, the comparison of two proportions on pairs with unlike outcomes, here with
  the beta-binomial mixture above (uniform, Beta(1, 1): a regression's share is far from ½) instead of a fixed
  alternative. `pairs_worse`.
- The p95, by two quantile sequences (Howard & Ramdas 2022, §4, their A/B use of the sequences): the treatment's p95
  is above the control's when, at some level x, the treatment's sequence lies above x and the control's below it.
  If the treatment's p95 is at most the control's, at every x one of the two claims is false, so a level costs one
  test's error; levels fixed in advance split alpha. `p95_worse`.

Restarts. A sequence started at the phase's start dilutes a change that begins mid-phase. The gate also starts a
fresh sequence every R hours of the phase; sequence k (k = 0 at the phase start) runs at α_k = α / ((k + 1)(k + 2)),
and Σ α_k = α, so by the union bound the family still errs at most α (an alpha-spending over restart times).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

JEFFREYS = (0.5, 0.5)
PRIOR_SIZE = 200.0
_BISECTIONS = 60


def threshold_prior(p0: float, size: float = PRIOR_SIZE) -> tuple[float, float]:
    """The mixing Beta(a, b) of a rule testing the threshold p0: mean p0, worth `size` observations."""
    return size * p0, size * (1.0 - p0)


def log_evidence(bad: int, n: int, p0: float, prior: tuple[float, float] = JEFFREYS) -> float:
    """log M_n(p0): the log of the beta-binomial mixture martingale (mixing Beta(a, b) = prior) after `bad` events
    of `n` at the rate p0."""
    if not 0.0 < p0 < 1.0:
        raise ValueError("p0 must lie in (0, 1)")
    if not 0 <= bad <= n:
        raise ValueError("need 0 ≤ bad ≤ n")
    if n == 0:
        return 0.0
    a, b = prior
    return (math.lgamma(a + bad) + math.lgamma(b + n - bad) - math.lgamma(a + b + n)
            - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
            - bad * math.log(p0) - (n - bad) * math.log1p(-p0))


def restart_alpha(k: int, alpha: float) -> float:
    """The error rate of the sequence restarted k-th (k = 0 at the phase's start): they sum to alpha."""
    return alpha / ((k + 1) * (k + 2))


def excludes_above(bad: int, n: int, p0: float, alpha: float, prior: tuple[float, float] | None = None) -> bool:
    """True when the test of p0 rejects it from above, anytime-valid at alpha: the rate exceeds p0. The mixture is
    threshold_prior(p0) unless `prior` is given."""
    evidence = log_evidence(bad, n, p0, prior or threshold_prior(p0))
    return bad > p0 * n and evidence >= math.log(1.0 / alpha)


def excludes_below(bad: int, n: int, p0: float, alpha: float, prior: tuple[float, float] | None = None) -> bool:
    """True when the test of p0 rejects it from below: the rate is under p0."""
    evidence = log_evidence(bad, n, p0, prior or threshold_prior(p0))
    return bad < p0 * n and evidence >= math.log(1.0 / alpha)


def rate_cs(bad: int, n: int, alpha: float) -> tuple[float, float]:
    """The (1 − alpha) CS of the rate after `bad` events of `n` (Jeffreys mixture), as (lower, upper); (0, 1)
    before any sample."""
    if n == 0:
        return 0.0, 1.0
    level = math.log(1.0 / alpha)
    share = bad / n

    def inside(p: float) -> bool:
        return 0.0 < p < 1.0 and log_evidence(bad, n, p) < level

    def edge(outside: float, inner: float) -> float:
        for _ in range(_BISECTIONS):
            mid = (outside + inner) / 2
            if inside(mid):
                inner = mid
            else:
                outside = mid
        return inner

    # the point estimate is always inside (M_n is smallest there and ≤ 1 < 1/alpha); at 0 or 1 nudge into (0, 1)
    centre = min(max(share, 1e-15), 1 - 1e-15)
    lower = 0.0 if bad == 0 else edge(0.0, centre)
    upper = 1.0 if bad == n else edge(1.0, centre)
    return lower, upper


def quantile_cs(values: Sequence[float], q: float, alpha: float) -> tuple[float, float]:
    """The (1 − alpha) CS of the q-quantile of a continuous distribution after the samples `values`, as order
    statistics (lower, upper); −inf / +inf where the data do not yet bound it."""
    xs = sorted(values)
    n = len(xs)
    lower, upper = -math.inf, math.inf
    # j samples at or below x: x is excluded from below when the n − j exceedances are too many for 1 − q
    for j in range(n + 1):
        if excludes_above(n - j, n, 1.0 - q, alpha):
            lower = xs[j] if j < n else math.inf
        else:
            break
    for j in range(n, -1, -1):
        if excludes_below(n - j, n, 1.0 - q, alpha):
            upper = xs[j - 1] if j > 0 else -math.inf
        else:
            break
    return lower, upper


UNIFORM = (1.0, 1.0)


def pairs_worse(treatment_only: int, control_only: int, alpha: float) -> bool:
    """True when the treatment fails more often than the control, anytime-valid at alpha, from the pairs where only
    the treatment's event failed and those where only the control's did."""
    if min(treatment_only, control_only) < 0:
        raise ValueError("pair counts must be ≥ 0")
    return excludes_above(treatment_only, treatment_only + control_only, 0.5, alpha, UNIFORM)


def p95_worse(treatment: Sequence[tuple[int, int]], control: Sequence[tuple[int, int]], alpha: float) -> bool:
    """True when the treatment's p95 is above the control's, anytime-valid at alpha. Each cohort gives, per level of
    a grid fixed in advance (the same for both, in the same order), (samples above the level, samples)."""
    if len(treatment) != len(control) or not treatment:
        raise ValueError("the two cohorts need the same non-empty grid of levels")
    share = alpha / len(treatment)
    return any(excludes_above(t_above, t_n, 0.05, share) and excludes_below(c_above, c_n, 0.05, share)
               for (t_above, t_n), (c_above, c_n) in zip(treatment, control))
