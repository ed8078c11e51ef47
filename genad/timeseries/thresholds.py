"""Thresholds for streams of scores: SPOT and DSPOT (online POT) and the nonparametric dynamic threshold.

- :class:`SPOT` applies the core Peaks-Over-Threshold rule (:class:`genad.thresholds.POTThreshold`)
  online, as Siffer et al. (KDD 2017) do: calibrate on the first scores, then update the tail fit
  with every new peak; alarms are not added to the peaks.
- :class:`DSPOT` is the same paper's SPOT with drift: it runs SPOT on each score minus the mean of
  the last ``depth`` normal scores, so the threshold follows a drifting level.
- :class:`DynamicThreshold` is the nonparametric dynamic threshold of Hundman et al. (KDD 2018),
  computed on the (smoothed) scores themselves over sliding windows of errors.
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from genad.thresholds import POTThreshold, Threshold, fit_gpd, pot_quantile
from genad.validation import as_scores, check_float, check_int


class SPOT(Threshold):
    """Streaming POT (Siffer et al., KDD 2017).

    ``fit`` calibrates :class:`genad.thresholds.POTThreshold` on reference scores (the initial batch:
    ``t``, the peaks, ``n`` and ``z_q``); ``predict`` then runs over new scores in arrival order, as
    the paper and the authors' code do: a score above the current ``z_q`` is an alarm and is neither
    added to the peaks nor counted in ``n``; a score between ``t`` and ``z_q`` is a new peak, the GPD
    is refitted (:func:`genad.thresholds.fit_gpd`) and ``z_q`` recomputed; a score up to ``t`` only
    counts in ``n``. ``t`` stays fixed. The state after the last score is kept, so a second
    ``predict`` continues the stream. ``thresholds_[i]`` is the threshold score ``i`` was judged by
    (the authors' code records the one after the update). The scores are assumed stationary, as SPOT
    assumes; :class:`DSPOT` follows a drifting level. Defaults and the edge cases (few or tied peaks)
    are those of :class:`~genad.thresholds.POTThreshold`.

    Parameters
    ----------
    risk : the probability ``q`` of a normal score exceeding the threshold.
    level : the quantile of the calibration scores used as the initial threshold ``t``.

    References
    ----------
    Siffer, Fouque, Termier, Largouet. "Anomaly Detection in Streams with Extreme Value Theory". KDD 2017.
    """

    def __init__(self, risk: float = 1e-3, level: float = 0.98):
        self.initial = POTThreshold(risk=risk, level=level)
        self.risk, self.level = risk, level

    def fit(self, scores: np.ndarray) -> "SPOT":
        calibration = self.initial.check_scores(scores)
        self.initial.fit(calibration)
        self.t_ = self.initial.initial_threshold_
        self.peaks_ = list(calibration[calibration > self.t_] - self.t_)
        self.n_ = calibration.size
        self.threshold_ = self.initial.threshold_
        return self

    def predict(self, scores: np.ndarray) -> np.ndarray:
        """Alarms for ``scores`` in arrival order; the state after the last score is kept."""
        self.check_fitted()
        scores = as_scores(scores, min_size=0)
        alarms = np.zeros(scores.size, dtype=np.int64)
        self.thresholds_ = np.empty(scores.size)
        for i, score in enumerate(scores):
            self.thresholds_[i] = self._current_threshold()
            alarms[i] = self._step(float(score))
        return alarms

    def _current_threshold(self) -> float:
        """The threshold the next score is judged by, on the scores' own scale."""
        return self.threshold_

    def _step(self, value: float) -> int:
        """Judge one value of the modelled stream and update the tail fit; 1 for an alarm."""
        if value > self.threshold_:
            return 1  # alarms are neither peaks nor counted in n
        self.n_ += 1
        if value > self.t_:
            self.peaks_.append(value - self.t_)
            gamma, sigma = fit_gpd(np.asarray(self.peaks_))
            self.threshold_ = pot_quantile(self.t_, gamma, sigma, self.risk, self.n_, len(self.peaks_))
        return 0


class DSPOT(SPOT):
    """Streaming POT with drift (DSPOT, Siffer et al., KDD 2017, Algorithm 4).

    SPOT assumes the scores' distribution stays put. DSPOT models instead each score's excess over a
    local level: the mean ``M_i`` of the last ``depth`` scores that were not alarms, so
    ``X'_i = X_i - M_i`` goes through :class:`SPOT`. ``fit`` calibrates on the reference scores
    (their first ``depth`` start the window; the rest, each minus the mean of the ``depth`` before
    it, calibrate SPOT, as the paper's calibration loop slides over every one of them). ``predict``
    then runs in arrival order: an alarm leaves the window as it was (an anomaly must not shift the
    level), any other score enters it. ``thresholds_[i]`` is the threshold on the scores' own scale,
    ``z_q + M_i``. The window after the last score is kept, so a second ``predict`` continues the
    stream.

    Parameters
    ----------
    depth : the number of recent normal scores whose mean is the local level (the paper's ``d``;
        the authors' code defaults to 10).
    risk, level : as in :class:`SPOT`.

    References
    ----------
    Siffer, Fouque, Termier, Largouet. "Anomaly Detection in Streams with Extreme Value Theory". KDD 2017.
    """

    def __init__(self, depth: int = 10, risk: float = 1e-3, level: float = 0.98):
        check_int("depth", depth, low=1)
        super().__init__(risk=risk, level=level)
        self.depth = depth

    def fit(self, scores: np.ndarray) -> "DSPOT":
        scores = as_scores(scores, min_size=self.depth + self.initial.min_scores,
                           need=f" (the first depth={self.depth} start the window of recent scores; the "
                                f"others calibrate the tail, which needs 1 / (1 - level) of them)")
        sums = np.concatenate([[0.0], np.cumsum(scores)])
        levels = (sums[self.depth:-1] - sums[:-self.depth - 1]) / self.depth  # mean of the depth scores before each
        super().fit(scores[self.depth:] - levels)
        self.window_ = deque(scores[-self.depth:], maxlen=self.depth)
        return self

    def _current_threshold(self) -> float:
        return self.threshold_ + self._level()

    def _level(self) -> float:
        return float(np.mean(self.window_))

    def _step(self, value: float) -> int:
        alarm = super()._step(value - self._level())
        if not alarm:
            self.window_.append(value)  # an alarm must not move the level
        return alarm


class DynamicThreshold(Threshold):
    """Nonparametric dynamic threshold (Hundman et al., KDD 2018, section 3.2).

    In each window of ``window`` smoothed errors ``e_s`` (moving by ``step``), candidate thresholds
    ``eps = mean(e_s) + z * std(e_s)`` for ``z`` in ``z_values`` are scored by
    ``(dmean / mean + dstd / std) / (#anomalous + #sequences**2)``, where ``dmean``/``dstd`` are the
    drops of the mean/std when the errors above ``eps`` are removed, and anomalous steps are those
    above ``eps`` widened by ``buffer`` steps on each side (as in the authors' implementation, which
    also requires at most 5 sequences and fewer than half the window flagged). The best ``eps``
    flags sequences, but only among the errors the window adds to the previous one (its newest
    ``step``); the first window judges all of its errors. The older errors of a window are its
    history, as in the authors' implementation. Pruning: the sequences' maxima, sorted, with the
    largest unflagged error of the window appended, are kept down to the last relative drop greater
    than ``p``. With ``inverse`` (the authors' implementation) the same is done on the errors flipped
    around their mean, ``2 mean - e_s``, so that an unusual *drop* of the errors is flagged too.
    When no ``z`` passes those checks, ``eps = mean + z_limit * std`` (the authors' ``sd_lim = 12``, the
    end of their ``z`` range), so errors that far out are still flagged, then pruned. A window whose
    errors are all equal flags nothing. ``threshold_`` (from ``fit``) is the rule's ``eps`` over the
    whole reference series, for information.

    Defaults follow the paper's implementation: windows of 30 batches of 70 errors (2100) moving by
    one batch (70), ``z`` from 2.5 to 12 by 0.5, error buffer 100, ``p = 0.13``. Left out: its guards
    that compare the errors' scale with the scale of the raw channel values (a threshold on scores
    does not see them) and its absolute guard ``max(e_s) > 0.05``, and its skipping of the first
    ``2 l_s`` errors of a series (genad's forecasts have their context from the start). Other
    differences from the authors' code, declared: it widens by ``buffer - 1`` steps while choosing
    ``eps`` and by ``buffer`` while flagging (here ``buffer`` for both); its largest non-anomalous
    error for pruning leaves out only the steps flagged so far and the window's new flags (older
    errors above ``eps`` that were not flagged stay in), while here it is the paper's: the largest
    error of the window outside its widened above-``eps`` steps; it does not count runs of a single
    step as sequences; its last window ends at the series' end and judges only its newest 70 errors,
    leaving up to 69 errors before them unjudged, where here the last window is a full one ending at
    the series' end and judges every error no window judged before.

    Parameters
    ----------
    window, step : errors per window, and how far each window moves.
    z_values : the candidate multipliers ``z`` of the standard deviation.
    buffer : steps flagged on each side of an error above ``eps``.
    p : the least relative drop between sorted sequence maxima that keeps the sequences above it.
    max_sequences : the most anomalous sequences a candidate ``eps`` may make in a window.
    inverse : also flag unusual drops of the errors (the errors flipped around their mean).
    z_limit : the ``z`` used in a window where no candidate passes the checks.

    References
    ----------
    Hundman, Constantinou, Laporte, Colwell, Soderstrom. "Detecting Spacecraft Anomalies Using LSTMs
    and Nonparametric Dynamic Thresholding". KDD 2018.
    """

    def __init__(self, window: int = 2100, step: int = 70,
                 z_values: tuple[float, ...] = tuple(np.arange(2.5, 12.0, 0.5)), buffer: int = 100,
                 p: float = 0.13, max_sequences: int = 5, inverse: bool = True, z_limit: float = 12.0):
        check_int("window", window, low=2)
        check_int("step", step, low=1)
        check_int("buffer", buffer, low=0)
        check_int("max_sequences", max_sequences, low=1)
        check_float("p", p, 0.0, 1.0)
        _check_z_values(z_values)
        check_float("z_limit", z_limit, 0.0, low_closed=False)
        if not isinstance(inverse, (bool, np.bool_)):
            raise TypeError(f"inverse must be True or False, got {inverse!r}")
        self.window, self.step, self.buffer, self.p = window, step, buffer, p
        self.z_values, self.max_sequences, self.inverse = np.asarray(z_values, dtype=np.float64), max_sequences, inverse
        self.z_limit = z_limit

    def fit(self, scores: np.ndarray) -> "DynamicThreshold":
        errors = as_scores(scores, min_size=2, need=" for a mean and standard deviation")
        self.threshold_ = float(self.best_epsilon(errors))
        return self

    def _widened(self, above: np.ndarray) -> np.ndarray:
        """Steps within ``buffer`` of a step above the threshold."""
        counts = np.r_[0, np.cumsum(above)]  # counts[j] - counts[i]: steps above in [i, j)
        steps = np.arange(above.size)
        return counts[np.minimum(steps + self.buffer + 1, above.size)] > counts[np.maximum(steps - self.buffer, 0)]

    @staticmethod
    def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
        return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)

    def best_epsilon(self, errors: np.ndarray) -> float:
        """The threshold maximising the paper's criterion on one window of errors.

        ``mean + z_limit * std`` when no candidate passes the checks (or the mean is 0, where the
        criterion is undefined); ``inf`` when the errors are all equal."""
        mean, std = errors.mean(), errors.std()
        if std == 0:
            return np.inf
        best, best_value = mean + self.z_limit * std, -np.inf
        if mean == 0:
            return float(best)
        for z in self.z_values:
            epsilon = mean + z * std
            above = errors >= epsilon
            below = errors[~above]
            if not above.any() or below.size == 0:
                continue
            anomalous = self._widened(above)
            n_sequences = len(self._runs(anomalous)[0])
            if n_sequences > self.max_sequences or anomalous.sum() >= 0.5 * errors.size:
                continue
            value = ((mean - below.mean()) / mean + (std - below.std()) / std) / (anomalous.sum() + n_sequences ** 2)
            if value >= best_value:
                best, best_value = epsilon, value
        return float(best)

    def _flag_window(self, errors: np.ndarray, new_from: int) -> np.ndarray:
        """Flags of the window's errors from position ``new_from`` on (the earlier ones are history)."""
        epsilon = self.best_epsilon(errors)
        flags = np.zeros(errors.size, dtype=bool)
        if not np.isfinite(epsilon):
            return flags
        above = self._widened(errors >= epsilon)
        rest = errors[~above]  # the errors below the threshold, history included
        anomalous = above.copy()
        anomalous[:new_from] = False
        starts, ends = self._runs(anomalous)
        if starts.size == 0:
            return flags
        maxima = np.array([errors[s:e].max() for s, e in zip(starts, ends)])
        order = np.argsort(-maxima)
        sorted_max = np.r_[maxima[order], rest.max() if rest.size else 0.0]
        drops = (sorted_max[:-1] - sorted_max[1:]) / np.maximum(sorted_max[:-1], 1e-12)
        significant = np.flatnonzero(drops > self.p)
        if significant.size:  # every sequence ranked above the last significant drop stays anomalous
            for k in order[: significant.max() + 1]:
                flags[starts[k]:ends[k]] = True
        return flags

    def predict(self, scores: np.ndarray) -> np.ndarray:
        errors = as_scores(scores, min_size=0)
        flags = np.zeros(errors.size, dtype=bool)
        if errors.size == 0:
            return flags.astype(np.int64)
        last_start = max(errors.size - self.window, 0)
        starts = list(range(0, last_start + 1, self.step))
        if starts[-1] != last_start:
            starts.append(last_start)
        judged = 0  # errors before this position were judged by an earlier window
        for start in starts:
            end = min(start + self.window, errors.size)
            window = errors[start:end]
            new_from = judged - start
            flags[start:end] |= self._flag_window(window, new_from)
            if self.inverse:
                flags[start:end] |= self._flag_window(2 * window.mean() - window, new_from)
            judged = end
        return flags.astype(np.int64)


def _check_z_values(z_values: Any) -> None:
    """A non-empty sequence of finite, positive multipliers of the standard deviation."""
    if isinstance(z_values, (str, bytes)) or not hasattr(z_values, "__len__") or len(z_values) == 0:
        raise TypeError(f"z_values must be a non-empty sequence of positive numbers, got {z_values!r}")
    for z in z_values:
        check_float("z_values entries", z, 0.0, low_closed=False)
