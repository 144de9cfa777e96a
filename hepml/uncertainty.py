"""Uncertainties of figures of merit, the same way in every lesson.

A figure of merit without its uncertainty cannot be compared: "0.912 against 0.907" may be a
real difference or the test set's luck. Each function returns an ``Estimate``, a value with its
68.3 % interval (one standard deviation for a Gaussian) and how the interval was obtained:

- ``binomial(k, n)``: an efficiency, a purity in unweighted events, an accuracy, a coverage —
  the Clopper–Pearson interval (scipy's ``binomtest``), exact at small counts where k/n ± sqrt(...)
  is not (it gives zero width at k = 0);
- ``poisson(n)``: a count of events (data in a histogram window): the Garwood interval;
- ``weighted_sum(w)``: a yield of weighted simulated events, sum(w) ± sqrt(sum(w²));
- ``bootstrap(statistic, *arrays)``: anything computed from a test set (an AUC, a background
  rejection at fixed signal efficiency, an AMS): the statistic on resampled test sets (scipy's
  ``bootstrap``, rows resampled together);
- ``paired_difference(stat_a, stat_b, *arrays)``: two methods on the *same* test set; resampling
  the difference is much more precise than comparing two separate intervals;
- ``seed_spread(values)``: one figure trained with several seeds; its spread is what a single
  training's figure can move by.

``a.compare(b)`` says "higher", "lower" or "compatible": a difference within ``n_sigma`` (2 by
default) of the combined uncertainty is "compatible", not "better". Formatting an estimate prints
both: ``f"{auc:.3f}"`` gives ``0.912 ± 0.004``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

ONE_SIGMA = 0.682689492137086  # the probability within one standard deviation of a Gaussian's mean


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float  # the interval's ends: 68.3 % unless the function was asked otherwise
    high: float
    method: str  # how the interval was obtained, for a reader

    @property
    def error(self) -> float:
        """The interval's half-width: the symmetric uncertainty."""
        return (self.high - self.low) / 2

    def __float__(self) -> float:
        return float(self.value)

    def __format__(self, spec: str) -> str:
        """With a format (``f"{e:.3f}"``) the value and its errors in it; without one (``f"{e}"``) rounded as
        the PDG rounds (the smaller error to one or two significant digits, the value to the same place)."""
        up, down = self.high - self.value, self.value - self.low
        spec = spec or _pdg_spec(min(e for e in (up, down) if e > 0) if max(up, down) > 0 else 0.0)
        symmetric = up == down == 0 or (min(up, down) > 0 and max(up, down) <= 1.25 * min(up, down))
        if symmetric:
            return f"{format(self.value, spec)} ± {format(self.error, spec)}"
        return f"{format(self.value, spec)} +{format(up, spec)} −{format(down, spec)}"

    def __str__(self) -> str:
        return format(self, "")

    def difference(self, other: Estimate) -> float:
        """(self − other) in units of the combined uncertainty of two independent estimates."""
        combined = float(np.hypot(self.error, other.error))
        return (self.value - other.value) / combined if combined > 0 else float(np.sign(self.value - other.value)) * np.inf

    def compare(self, other: Estimate | float, n_sigma: float = 2.0) -> str:
        """'higher', 'lower' or 'compatible' (within n_sigma): for independent estimates, or against a
        number known exactly (a published value taken without error, an input)."""
        if not isinstance(other, Estimate):
            other = Estimate(float(other), float(other), float(other), "exact")
        pull = self.difference(other)
        if pull == 0 or abs(pull) <= n_sigma:
            return "compatible"
        return "higher" if pull > 0 else "lower"

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def scaled(self, factor: float) -> Estimate:
        """The estimate times a number known exactly (a bin width, a luminosity taken as exact)."""
        ends = sorted((self.low * factor, self.high * factor))
        return Estimate(self.value * factor, ends[0], ends[1], self.method)


def _pdg_spec(error: float) -> str:
    """The PDG's rounding (Review of Particle Physics, Introduction, 5.3): the error's three leading digits
    from 100 to 354 keep two significant digits, from 355 to 949 one, from 950 up round to two of 1000."""
    if not np.isfinite(error) or error <= 0:
        return ".3g"
    exponent = int(np.floor(np.log10(error)))
    leading = int(error / 10 ** (exponent - 2))  # the three leading digits, 100 to 999
    digits = 2 if leading <= 354 or leading >= 950 else 1
    if leading >= 950:
        exponent += 1
    return f".{max(0, digits - 1 - exponent)}f"


def binomial(k: int, n: int, confidence: float = ONE_SIGMA) -> Estimate:
    """k successes of n trials: k/n with its Clopper–Pearson interval."""
    from scipy.stats import binomtest

    k, n = int(k), int(n)
    if n <= 0:
        raise ValueError(f"a fraction of {n} trials has no estimate: select at least one event")
    interval = binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return Estimate(k / n, float(interval.low), float(interval.high), f"binomial {k}/{n}, Clopper–Pearson")


def poisson(n: int, confidence: float = ONE_SIGMA) -> Estimate:
    """n events counted: n with the Garwood (exact Poisson) interval, which has a width at n = 0."""
    from scipy.stats import chi2

    n, alpha = int(n), 1 - confidence
    low = 0.0 if n == 0 else float(chi2.ppf(alpha / 2, 2 * n) / 2)
    high = float(chi2.ppf(1 - alpha / 2, 2 * n + 2) / 2)
    return Estimate(float(n), low, high, f"{n} events, Poisson (Garwood)")


def weighted_sum(weights, confidence: float = ONE_SIGMA) -> Estimate:
    """A yield of weighted events: sum(w) ± z·sqrt(sum(w²)) (the simulation's statistical uncertainty)."""
    from scipy.stats import norm

    w = np.asarray(weights, dtype=np.float64)
    total, error = float(w.sum()), float(np.sqrt((w ** 2).sum())) * norm.ppf(0.5 + confidence / 2)
    return Estimate(total, total - error, total + error, f"sum of {len(w)} weights ± sqrt(sum w²)")


def bootstrap(statistic: Callable[..., float], *arrays, n_resamples: int = 200, seed: int = 0,
              confidence: float = ONE_SIGMA) -> Estimate:
    """``statistic(*arrays)`` with the percentile interval of the same statistic on ``n_resamples``
    test sets drawn with replacement (the rows of all arrays together)."""
    from scipy.stats import bootstrap as scipy_bootstrap

    arrays = [np.asarray(a) for a in arrays]
    result = scipy_bootstrap(arrays, statistic, paired=True, vectorized=False, n_resamples=n_resamples,
                             confidence_level=confidence, method="percentile", random_state=seed)
    value = float(statistic(*arrays))
    low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    # the percentile interval of a skewed statistic can miss its own value by a little: keep it inside
    return Estimate(value, min(low, value), max(high, value), f"bootstrap, {n_resamples} resampled test sets")


def paired_difference(statistic_a: Callable[..., float], statistic_b: Callable[..., float], *arrays,
                      n_resamples: int = 200, seed: int = 0, confidence: float = ONE_SIGMA) -> Estimate:
    """statistic_a − statistic_b on the same test set, bootstrapped together (the two share the
    test set's luck, which cancels in the difference)."""
    return bootstrap(lambda *a: statistic_a(*a) - statistic_b(*a), *arrays, n_resamples=n_resamples, seed=seed,
                     confidence=confidence)


def seed_spread(values) -> Estimate:
    """A figure obtained with several seeds: their mean, ± their standard deviation (what one
    training's figure moves by from seed to seed; the mean's own uncertainty is that / sqrt(n))."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        raise ValueError("a spread needs at least two seeds")
    mean, std = float(v.mean()), float(v.std(ddof=1))
    return Estimate(mean, mean - std, mean + std, f"mean and standard deviation of {len(v)} seeds")
