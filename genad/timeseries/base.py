"""Base classes of genad's time-series detectors: ``(T, D)`` in, one score per time step out.

``SeriesDetector`` adds to :class:`genad.base.BaseDetector` the window settings, the ``fill=``
option for NaN gaps and the short-series error. ``TorchSeriesDetector`` trains a network on
(stride-subsampled) windows with the shared loop and folds the per-window scores back to time
steps; a model implements ``_build_module``, ``_loss`` and ``_score_batch`` on ``(B, L, D)`` windows,
and optionally ``_reconstruct`` for ``restore``/``explain``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genad.base import BaseDetector, TorchDetector, hyperparameters
from genad.timeseries.windows import fill_gaps, fold_back, sliding_windows
from genad.training import resolve_device, seeded
from genad.validation import check_choice, check_int


@hyperparameters
class SeriesDetector(BaseDetector):
    """Shared parameters of time-series detectors.

    Parameters
    ----------
    window : length of the sliding windows the model sees; series shorter than it are rejected.
    train_stride : step between training windows (subsampling keeps training CPU-fast).
    score_stride : step between scored windows; every step is still covered (the last window ends
        at the last step), and with ``fold="last"`` each step keeps at least ``window - score_stride``
        steps of context.
    fill : what to do with NaN gaps: ``None`` (an error), ``"ffill"``, ``"linear"`` or a number.
    """

    window: int = 32
    train_stride: int = 1
    score_stride: int = 1
    fill: str | float | None = None

    fold = "mean"  # how window scores map back to steps (see genad.timeseries.windows.fold_back)

    def _check_params(self) -> None:
        super()._check_params()
        check_int("window", self.window, low=1)
        check_int("train_stride", self.train_stride, low=1)
        check_int("score_stride", self.score_stride, low=1, high=self.window)
        if self.fill is not None and not isinstance(self.fill, (int, float)):
            check_choice("fill", self.fill, ("ffill", "linear"))

    def fit(self, X: Any, y: Any = None) -> "SeriesDetector":
        self._check_params()
        X = self._filled(X)
        if X.shape[0] < self.window:
            raise ValueError(f"the training series has {X.shape[0]} time step(s), fewer than one window "
                             f"of length {self.window}")
        return super().fit(X, y)

    def _validate(self, X: Any) -> np.ndarray:
        return super()._validate(self._filled(X))

    def _filled(self, X: Any) -> Any:
        """Fill NaN gaps before the door's checks; without ``fill`` a gap is a clear error."""
        if isinstance(X, (str, bytes)) or not hasattr(X, "__len__"):
            return X
        try:
            values = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=np.float64)
        except (TypeError, ValueError):
            return X  # non-numeric input: the door's checks name the problem
        if values.ndim != 2 or not np.isnan(values).any():
            return X
        return fill_gaps(values, self.fill)

    def _windows(self, X: np.ndarray, stride: int) -> np.ndarray:
        return np.ascontiguousarray(sliding_windows(X, self.window, stride), dtype=np.float32)

    def _to_steps(self, window_values: np.ndarray, n_steps: int) -> np.ndarray:
        return fold_back(window_values, n_steps, self.window, self.score_stride, self.fold)


@hyperparameters
class TorchSeriesDetector(SeriesDetector, TorchDetector):
    """A time-series detector whose network is trained by the shared loop on windows."""

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.device_ = resolve_device(self.device)
        windows = self._tensor(self._windows(X, self.train_stride))
        with seeded(self.random_state) as generator:
            self.module_ = self._build_module(X.shape[1]).to(self.device_)
            self.history_ = self._train(windows, generator)
            self._after_training(windows)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._to_steps(self._apply(self._score_batch, self._windows(X, self.score_stride)), len(X))

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        raise self._missing("restore")

    def _restore(self, X: np.ndarray) -> np.ndarray:
        windows = self._windows(X, self.score_stride)
        return self._to_steps(self._apply(self._reconstruct, windows), len(X)).astype(np.float32)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return (X - self._restore(X)) ** 2
