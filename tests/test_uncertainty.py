"""hepml.uncertainty: each interval covers the true value as often as it says (checked by
pseudo-experiments, and shown to fail for an interval of realistic wrong size), and a comparison
inside the uncertainty is "compatible"."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hepml.uncertainty import (ONE_SIGMA, Estimate, binomial, bootstrap, paired_difference, poisson, seed_spread,
                               weighted_sum)


def coverage(intervals, truth) -> float:
    return float(np.mean([low <= truth <= high for low, high in intervals]))


def narrowed(estimate: Estimate, factor: float) -> tuple[float, float]:
    """The interval of ``estimate`` made ``factor`` times narrower: a realistic mistake (e.g. a
    bootstrap of correlated rows, or sqrt(k)/n where k is small)."""
    return estimate.value - (estimate.value - estimate.low) / factor, estimate.value + (estimate.high - estimate.value) / factor


def test_binomial_interval_covers_at_least_its_probability_and_a_narrower_one_does_not():
    rng = np.random.default_rng(1)
    truth, n = 0.2, 400
    estimates = [binomial(k, n) for k in rng.binomial(n, truth, size=1000)]
    honest = coverage([(e.low, e.high) for e in estimates], truth)
    assert ONE_SIGMA - 0.03 < honest < 0.85  # Clopper–Pearson is conservative, never short
    assert coverage([narrowed(e, 1.25) for e in estimates], truth) < ONE_SIGMA - 0.05  # 1.25x too narrow: caught


def test_binomial_at_zero_and_all_has_a_width():
    zero, every = binomial(0, 20), binomial(20, 20)
    assert zero.value == 0 and zero.low == 0 and zero.high > 0.05
    assert every.value == 1 and every.high == 1 and every.low < 0.95
    with pytest.raises(ValueError, match="select at least one event"):
        binomial(0, 0)


def fast_auc(y, score) -> float:
    """The AUC as the Mann–Whitney statistic (what roc_auc_score computes, 50 times faster)."""
    from scipy.stats import rankdata

    positive = y == 1
    n1, n0 = positive.sum(), (~positive).sum()
    return float((rankdata(score)[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def test_bootstrap_of_an_auc_covers_the_true_auc_and_matches_its_known_spread():
    rng = np.random.default_rng(2)
    # two Gaussian classes one standard deviation apart: true AUC = Phi(1/sqrt(2))
    from scipy.stats import norm
    truth = norm.cdf(1 / np.sqrt(2))

    def one():
        y = rng.integers(0, 2, 600)
        score = rng.normal(y.astype(float), 1.0)
        return bootstrap(fast_auc, y, score, n_resamples=100, seed=int(rng.integers(1 << 30)))

    y = rng.integers(0, 2, 50)
    score = rng.normal(y.astype(float), 1.0)
    assert fast_auc(y, score) == pytest.approx(roc_auc_score(y, score))
    estimates = [one() for _ in range(150)]
    assert coverage([(e.low, e.high) for e in estimates], truth) == pytest.approx(ONE_SIGMA, abs=0.11)
    # Hanley & McNeil's error of an AUC of 0.76 on 300 + 300 events is about 0.019
    assert np.mean([e.error for e in estimates]) == pytest.approx(0.019, rel=0.2)
    assert coverage([narrowed(e, 2.0) for e in estimates], truth) < 0.5


def test_paired_difference_sees_what_two_separate_intervals_cannot():
    """Two classifiers on the same events, one slightly better: their separate intervals overlap
    ("compatible"), the paired bootstrap of the difference finds it."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 2000)
    common = rng.normal(y.astype(float), 1.0)
    a, b = common + rng.normal(0, 0.1, len(y)), common + rng.normal(0, 0.3, len(y))
    auc_a = bootstrap(lambda y, a, b: roc_auc_score(y, a), y, a, b)
    auc_b = bootstrap(lambda y, a, b: roc_auc_score(y, b), y, a, b)
    assert auc_a.compare(auc_b) == "compatible"
    difference = paired_difference(lambda y, a, b: roc_auc_score(y, a), lambda y, a, b: roc_auc_score(y, b), y, a, b)
    assert difference.compare(0.0) == "higher" and difference.value > 0


def test_poisson_interval_covers_its_mean_and_matches_mplhep():
    from mplhep.error_estimation import poisson_interval

    rng = np.random.default_rng(4)
    estimates = [poisson(k) for k in rng.poisson(60.0, size=2000)]
    assert ONE_SIGMA - 0.02 < coverage([(e.low, e.high) for e in estimates], 60.0) < 0.85
    assert coverage([narrowed(e, 1.25) for e in estimates], 60.0) < ONE_SIGMA - 0.05
    counts = np.array([0.0, 3.0, 40.0])
    low, high = poisson_interval(counts, counts)  # the intervals mplhep draws on data points
    assert [poisson(n).low for n in (0, 3, 40)] == pytest.approx(list(low), rel=1e-6)
    assert [poisson(n).high for n in (0, 3, 40)] == pytest.approx(list(high), rel=1e-6)
    assert poisson(40).scaled(0.5).value == 20 and poisson(40).scaled(0.5).high == pytest.approx(high[2] / 2)


def test_weighted_sum_and_seed_spread():
    w = np.array([0.5, 0.5, 2.0, 1.0])
    total = weighted_sum(w)
    assert total.value == 4.0 and total.error == pytest.approx(np.sqrt(0.25 + 0.25 + 4 + 1))
    spread = seed_spread([0.90, 0.92, 0.94])
    assert spread.value == pytest.approx(0.92) and spread.error == pytest.approx(0.02)
    with pytest.raises(ValueError):
        seed_spread([0.9])


def test_comparisons_and_formatting():
    a = Estimate(1.00, 0.90, 1.10, "test")
    assert a.compare(Estimate(1.25, 1.15, 1.35, "test")) == "compatible"  # 0.25 < 2 x 0.141
    assert a.compare(Estimate(1.35, 1.25, 1.45, "test")) == "lower"
    assert a.compare(0.7) == "higher" and a.compare(0.85) == "compatible"
    assert f"{a:.2f}" == "1.00 ± 0.10"
    assert f"{Estimate(0.5, 0.3, 0.6, 't'):.1f}" == "0.5 +0.1 −0.2"
    assert str(Estimate(3.0, 3.0, 3.0, "exact")) == "3 ± 0"
    # without a format, rounded as the PDG rounds: the smaller error to one or two significant digits
    assert str(Estimate(0.086, 0.015, 0.287, "t")) == "0.09 +0.20 −0.07"
    assert str(Estimate(5.8, 5.31, 6.29, "t")) == "5.8 ± 0.5"
    assert str(Estimate(36.4, 26.7, 46.1, "t")) == "36 ± 10"
    assert str(Estimate(0.9123, 0.9098, 0.9148, "t")) == "0.9123 ± 0.0025"
