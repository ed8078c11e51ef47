"""Thresholds: small objects that turn anomaly scores into 0/1 decisions.

A detector holds one (``detector.threshold_rule_``) instead of copying threshold code into
every model. Each rule is fitted on reference scores (the training scores by default, or
held-out normal scores via ``detector.calibrate``) and exposes ``threshold_``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.optimize import brentq
from sklearn.exceptions import NotFittedError

from genad.validation import as_scores, check_float


class Threshold:
    """Base class: ``fit(scores)`` sets ``threshold_``; ``predict`` compares against it."""

    threshold_: float

    def fit(self, scores: np.ndarray) -> "Threshold":
        raise NotImplementedError

    def check_fitted(self, attribute: str = "threshold_") -> None:
        """Raise ``NotFittedError`` (a ``ValueError``) when ``fit`` has not set ``attribute``."""
        if not hasattr(self, attribute):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(scores) first")

    def predict(self, scores: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return (as_scores(scores, min_size=0) > self.threshold_).astype(np.int64)


class ContaminationThreshold(Threshold):
    """Flag the top ``contamination`` fraction of the reference scores (PyOD's rule)."""

    def __init__(self, contamination: float = 0.1):
        check_float("contamination", contamination, 0.0, 0.5, low_closed=False)
        self.contamination = contamination

    def fit(self, scores: np.ndarray) -> "ContaminationThreshold":
        scores = as_scores(scores)
        self.threshold_ = float(np.quantile(scores, 1.0 - self.contamination))
        return self


class FPRThreshold(Threshold):
    """Control the false-positive rate on held-out normal data, with conformal p-values.

    Fit it on the scores of ``n`` normal rows the model has not been trained on (split conformal
    prediction; Vovk et al. 2005, Bates et al. 2023). The threshold is the ``k``-th smallest of
    them with ``k = ceil((n + 1) (1 - fpr))``, so that a new normal score, exchangeable with them,
    exceeds it with probability at most ``fpr`` (exactly ``(n + 1 - k) / (n + 1)`` for continuous
    scores) whatever ``n``. :meth:`p_values` gives the conformal p-value
    ``(1 + #{s_cal >= s}) / (n + 1)`` of new scores, and a score is flagged exactly when its
    p-value is at most ``fpr``. ``fit`` refuses fewer than ``1 / fpr - 1`` scores: no finite
    threshold then guarantees the rate.

    References
    ----------
    Vovk, Gammerman, Shafer. "Algorithmic Learning in a Random World". Springer 2005.
    Bates, Candes, Lei, Romano, Sesia. "Testing for outliers with conformal p-values". Annals of
    Statistics 2023.
    """

    def __init__(self, fpr: float = 0.05):
        check_float("fpr", fpr, 0.0, 1.0, low_closed=False, high_closed=False)
        self.fpr = fpr

    def fit(self, scores: np.ndarray) -> "FPRThreshold":
        calibration = np.sort(as_scores(scores))
        n = calibration.size
        rank = math.ceil(round((n + 1) * (1.0 - self.fpr), 9))  # 1-based rank of the conformal threshold
        if rank > n:
            need = math.ceil(round(1.0 / self.fpr - 1.0, 9))
            raise ValueError(f"fpr={self.fpr:g} needs at least {need} held-out normal scores for a threshold that "
                             f"keeps the false-positive rate at most fpr, got {n}; pass more held-out rows or a "
                             "larger fpr")
        self.calibration_scores_ = calibration
        self.threshold_ = float(calibration[rank - 1])
        return self

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """Conformal p-values ``(1 + #{s_cal >= s}) / (n_cal + 1)`` of ``scores`` (small: unusual)."""
        self.check_fitted("calibration_scores_")
        cal = self.calibration_scores_
        n_at_least = cal.size - np.searchsorted(cal, as_scores(scores, min_size=0), side="left")
        return (1.0 + n_at_least) / (cal.size + 1.0)


class POTThreshold(Threshold):
    """Peaks-Over-Threshold from extreme value theory (Siffer et al., KDD 2017).

    Scores above an initial high quantile ``t`` (``level``, the paper's 98%) are the peaks; their
    excesses over ``t`` are fitted with a generalized Pareto distribution (GPD) by maximum likelihood
    with Grimshaw's reduction to one variable, as in the paper (:func:`fit_gpd`). The threshold is the
    score exceeded with probability ``risk`` (the paper's ``q``), by the paper's estimate
    ``z_q = t + sigma/gamma * ((risk * n / n_t) ** -gamma - 1)``, or ``t - sigma * log(risk * n / n_t)``
    when ``gamma = 0``. ``risk`` must be below ``1 - level`` (else ``z_q`` falls below ``t``), and
    ``fit`` needs at least ``1 / (1 - level)`` scores so that some lie above ``t``.

    Deviations from the paper and the authors' code, declared:

    - ``t`` is numpy's interpolated empirical quantile (the authors' code takes the order statistic
      at ``floor(level n)``); ``risk`` defaults to ``1e-3`` (the paper uses ``1e-3`` to ``1e-4``,
      the authors' code defaults to ``1e-4``).
    - Fewer than 3 peaks, or peaks all equal, are fitted by an exponential tail with their mean
      (``gamma = 0``) instead of the likelihood search.
    - When tied scores leave fewer than ``risk * n`` scores strictly above ``t`` (``risk * n / n_t
      >= 1``), the tail above ``t`` is already rarer than ``risk``: ``z_q = t``, where the estimate
      would fall below ``t`` and flag the ties.
    - With no score above ``t`` (all reference scores equal, say), ``z_q = t``: nothing is flagged.

    References
    ----------
    Siffer, Fouque, Termier, Largouet. "Anomaly Detection in Streams with Extreme Value Theory".
    KDD 2017.
    Grimshaw. "Computing Maximum Likelihood Estimates for the Generalized Pareto Distribution".
    Technometrics 35(2), 1993.
    """

    def __init__(self, risk: float = 1e-3, level: float = 0.98):
        check_float("risk", risk, 0.0, 1.0, low_closed=False, high_closed=False)
        check_float("level", level, 0.0, 1.0, low_closed=False, high_closed=False)
        if risk >= 1.0 - level:
            # z_q is the quantile exceeded with probability risk; the tail model only covers risks
            # below the share of scores above t, i.e. 1 - level.
            raise ValueError(f"risk must be below 1 - level = {1.0 - level:g} (the share of scores above the "
                             f"initial quantile), got risk={risk!r} with level={level!r}")
        self.risk = risk
        self.level = level

    @property
    def min_scores(self) -> int:
        """The fewest reference scores for some to lie above ``t``: ``1 / (1 - level)``."""
        return math.ceil(round(1.0 / (1.0 - self.level), 9))

    def check_scores(self, scores: Any) -> np.ndarray:
        """Reference scores for :meth:`fit`: finite, 1-D, and enough for some to exceed ``t``."""
        min_size = self.min_scores
        need = (f" for some to lie above the initial {self.level:g} quantile (pass more scores, lower "
                "level, or, for a detector's contamination='auto', fit more rows or give a contamination "
                "fraction)")
        return as_scores(scores, min_size=min_size, need=need)

    def fit(self, scores: np.ndarray) -> "POTThreshold":
        scores = self.check_scores(scores)
        self.initial_threshold_ = float(np.quantile(scores, self.level))
        excesses = scores[scores > self.initial_threshold_] - self.initial_threshold_
        self.n_, self.n_peaks_ = scores.size, excesses.size
        self.gamma_, self.sigma_ = fit_gpd(excesses)
        self.threshold_ = pot_quantile(self.initial_threshold_, self.gamma_, self.sigma_,
                                       self.risk, self.n_, self.n_peaks_)
        return self


def fit_gpd(excesses: np.ndarray) -> tuple[float, float]:
    """Shape ``gamma`` and scale ``sigma`` of a GPD (location 0) fitted to positive excesses.

    Maximum likelihood with Grimshaw's reduction, as Siffer et al. do: with ``x = gamma / sigma`` the
    likelihood is maximised in ``gamma`` by ``gamma(x) = mean(log(1 + x Y))``, and the stationary points
    of the remaining one-variable likelihood are the roots of
    ``w(x) = (1 + mean(log(1 + x Y))) * mean(1 / (1 + x Y)) - 1``, which lie in ``(-1 / max Y, 0)`` or
    ``(0, 2 (mean Y - min Y) / min Y ** 2]``. Every sign change of ``w`` on a dense grid of each interval
    is refined by Brent's method; the root with the highest likelihood wins, against the exponential
    fit (``gamma = 0``, ``sigma = mean Y``, the limit ``x -> 0``), which is always a candidate. So no
    observed excess falls outside the fitted support (``1 + gamma Y / sigma > 0``), which a general
    optimiser such as ``scipy.stats.genpareto.fit`` does not guarantee for bounded tails.

    Declared: the boundary ``x -> -1 / max Y``, where the likelihood grows without bound when
    ``gamma < -1``, is not a candidate (as in Grimshaw's method), so for a tail with ``gamma <= -1``
    (scores with a hard upper bound and no thinning density near it, such as uniform ones) no root
    exists and the exponential fit is returned: the threshold is then conservative and may lie above
    the bound. The authors' code scores the exponential candidate as ``+n (1 + log mean Y)``, the
    log-likelihood with its sign flipped, which makes it win whenever that is positive; here it is
    ``-n (1 + log mean Y)``. Fewer than 3 excesses, or excesses all equal: the exponential fit.

    Parameters
    ----------
    excesses : 1-D array of the peaks' excesses over the initial threshold (positive).

    Returns
    -------
    gamma, sigma : the fitted shape and scale (``sigma > 0``).

    References
    ----------
    Grimshaw. "Computing Maximum Likelihood Estimates for the Generalized Pareto Distribution".
    Technometrics 35(2), 1993.
    """
    y = np.asarray(excesses, dtype=np.float64)
    if y.size < 3 or np.ptp(y) == 0:
        # Too few distinct peaks for a fit: fall back to an exponential tail with the mean excess.
        return 0.0, float(max(y.mean() if y.size else 0.0, 1e-12))
    mean, low, high = float(y.mean()), float(y.min()), float(y.max())
    best_gamma, best_sigma = 0.0, mean
    best_loglik = -y.size * (math.log(mean) + 1.0)  # the exponential fit
    for x in _grimshaw_roots(y, mean, low, high):
        gamma = float(np.mean(np.log1p(x * y)))
        sigma = gamma / x
        if not (np.isfinite(gamma) and sigma > 0):
            continue
        loglik = -y.size * (math.log(sigma) + 1.0 + gamma)  # the likelihood at its maximum over gamma, given x
        if loglik > best_loglik:
            best_gamma, best_sigma, best_loglik = gamma, sigma, loglik
    return float(best_gamma), float(max(best_sigma, 1e-12))


def _grimshaw_w(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Grimshaw's ``w(x) = u(x) v(x) - 1`` for each ``x`` (zero at the likelihood's stationary points)."""
    out = np.empty(x.size)
    chunk = max(1, 2_000_000 // y.size)  # bound the (x, y) block held at once
    for start in range(0, x.size, chunk):
        s = 1.0 + np.outer(x[start:start + chunk], y)
        out[start:start + chunk] = (1.0 + np.log(s).mean(axis=1)) * (1.0 / s).mean(axis=1) - 1.0
    return out


def _grimshaw_roots(y: np.ndarray, mean: float, low: float, high: float, n_grid: int = 200) -> list[float]:
    """Roots of Grimshaw's ``w`` on ``(-1 / high, 0)`` and ``(0, 2 (mean - low) / low ** 2]``."""
    # negative side, x = -r / high with r in (0, 1): dense near both ends (near 1 the support ends at max Y)
    r = np.unique(np.r_[np.geomspace(1e-6, 0.5, n_grid), 1.0 - np.geomspace(1e-10, 0.5, n_grid)])
    negative = -r[::-1] / high
    upper = 2.0 * (mean - low) / low ** 2 if low > 0 else np.inf
    upper = min(upper, 1e12 / mean)  # beyond x * mean = 1e12 the shape is ~log(x mean) and w is flat
    positive = np.geomspace(min(1e-6 / mean, upper / 2), upper, 2 * n_grid)
    roots = []
    for grid in (negative, positive):
        w = _grimshaw_w(grid, y)
        for i in np.flatnonzero(np.isfinite(w[:-1]) & np.isfinite(w[1:]) & (np.sign(w[:-1]) * np.sign(w[1:]) < 0)):
            roots.append(brentq(lambda x: float(_grimshaw_w(np.array([x]), y)[0]), grid[i], grid[i + 1],
                                xtol=1e-14 * max(abs(grid[i]), 1e-300), rtol=1e-12, maxiter=200))
    return roots


def pot_quantile(t: float, gamma: float, sigma: float, risk: float, n: int, n_peaks: int) -> float:
    """The extreme quantile ``z_q`` of Siffer et al. estimated from the GPD fit, never below ``t``.

    ``risk * n / n_peaks >= 1`` means the scores above ``t`` are already rarer than ``risk`` (ties at
    ``t``): the answer is then ``t`` itself, where the formula would fall below it.
    """
    if n_peaks == 0:
        return t
    ratio = risk * n / n_peaks
    if ratio >= 1.0:
        return t
    if abs(gamma) < 1e-8:
        return float(t - sigma * np.log(ratio))
    return float(t + sigma / gamma * (ratio ** (-gamma) - 1.0))


def make_threshold(contamination: float | str) -> Threshold:
    """The rule a detector uses for its ``contamination`` parameter: a fraction, or ``"auto"`` (POT)."""
    if isinstance(contamination, str):
        if contamination != "auto":
            raise ValueError(f"contamination must be a float in (0, 0.5] or 'auto', got {contamination!r}")
        return POTThreshold()
    return ContaminationThreshold(contamination)
