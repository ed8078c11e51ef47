"""Thresholds: small objects that turn anomaly scores into 0/1 decisions.

A detector holds one (``detector.threshold_rule_``) instead of copying threshold code into
every model. Each rule is fitted on reference scores (the training scores by default, or
held-out normal scores via ``detector.calibrate``) and exposes ``threshold_``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
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

    Fit it on scores of normal data the model has not been trained on; the threshold is the
    score above which a fraction ``fpr`` of those normal scores lie, and :meth:`p_values` gives
    the conformal p-value ``(1 + #{s_cal >= s}) / (n_cal + 1)`` of new scores.
    """

    def __init__(self, fpr: float = 0.05):
        check_float("fpr", fpr, 0.0, 1.0, low_closed=False, high_closed=False)
        self.fpr = fpr

    def fit(self, scores: np.ndarray) -> "FPRThreshold":
        self.calibration_scores_ = np.sort(as_scores(scores))
        self.threshold_ = float(np.quantile(self.calibration_scores_, 1.0 - self.fpr))
        return self

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        self.check_fitted("calibration_scores_")
        cal = self.calibration_scores_
        n_at_least = cal.size - np.searchsorted(cal, as_scores(scores, min_size=0), side="left")
        return (1.0 + n_at_least) / (cal.size + 1.0)


class POTThreshold(Threshold):
    """Peaks-Over-Threshold from extreme value theory (Siffer et al., KDD 2017).

    Scores above an initial high quantile ``t`` (``level``) are fitted with a generalized Pareto
    distribution; the threshold is the score exceeded with probability ``risk``:
    ``z_q = t + sigma/gamma * ((risk * n / n_t) ** -gamma - 1)``. The GPD is fitted by maximum
    likelihood (scipy) rather than the paper's Grimshaw trick; both give the same estimator.
    ``risk`` must be below ``1 - level`` (else ``z_q`` falls below ``t``), and ``fit`` needs at least
    ``1 / (1 - level)`` scores so that some lie above ``t``.

    References
    ----------
    Siffer, Fouque, Termier, Largouet. "Anomaly Detection in Streams with Extreme Value Theory".
    KDD 2017.
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

    def check_scores(self, scores: Any) -> np.ndarray:
        """Reference scores for :meth:`fit`: finite, 1-D, and enough for some to exceed ``t``."""
        min_size = math.ceil(round(1.0 / (1.0 - self.level), 9))
        need = (f" for some to lie above the initial {self.level:g} quantile (pass more scores, lower "
                "level, or use a contamination fraction)")
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
    """Shape and scale of a GPD on positive excesses (location fixed at 0)."""
    if excesses.size < 3 or np.ptp(excesses) == 0:
        # Too few distinct peaks for a fit: fall back to an exponential tail with the mean excess.
        return 0.0, float(max(excesses.mean() if excesses.size else 0.0, 1e-12))
    gamma, _, sigma = stats.genpareto.fit(excesses, floc=0.0)
    return float(gamma), float(max(sigma, 1e-12))


def pot_quantile(t: float, gamma: float, sigma: float, risk: float, n: int, n_peaks: int) -> float:
    """The extreme quantile ``z_q`` of Siffer et al. (eq. 1)."""
    if n_peaks == 0:
        return t
    ratio = risk * n / n_peaks
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
