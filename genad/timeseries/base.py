"""Base classes of genad's time-series detectors: ``(T, D)`` in, one score per time step out.

``SeriesDetector`` adds to :class:`genad.base.BaseDetector` the window settings, the ``fill=``
option for NaN gaps and the short-series error. ``TorchSeriesDetector`` trains a network on
(stride-subsampled) windows with the shared loop and folds the per-window scores back to time
steps; a model implements ``_build_module``, ``_loss`` and ``_score_batch`` on ``(B, L, D)`` windows,
and a ``RestoringSeriesDetector`` also ``_reconstruct`` for ``restore``/``explain``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from genad.base import BaseDetector, TorchDetector, hyperparameters
from genad.timeseries.windows import check_fill, fill_gaps, fold_windows, sliding_windows
from genad.validation import check_int, to_numeric_array


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
    # Parameters that shape the fitted model (a network's input is ``window`` steps long): scoring with
    # other values than at fit would crash deep inside the model or silently compute something else.
    _shape_params = ("window",)

    def _check_params(self) -> None:
        super()._check_params()
        check_int("window", self.window, low=1)
        check_int("train_stride", self.train_stride, low=1)
        check_int("score_stride", self.score_stride, low=1, high=self.window)
        check_fill(self.fill)

    def fit(self, X: Any, y: Any = None) -> "SeriesDetector":
        self._check_params()
        X = self._series(X)
        if X.shape[0] < self.window:
            raise ValueError(f"the training series has {X.shape[0]} time step(s), fewer than one window "
                             f"of length {self.window}")
        super().fit(X, y)
        # recorded only once the fit succeeded: a failed refit leaves the detector as it was
        self.fitted_shape_params_ = {name: getattr(self, name) for name in self._shape_params}
        return self

    def _validate(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "n_features_in_")
        self._check_shape_params()
        return super()._validate(self._series(X))  # fill_gaps names a bad fill; the base checks the rest

    def _check_shape_params(self) -> None:
        """The ``_shape_params`` still have their values from fit (set_params may have changed them)."""
        fitted = getattr(self, "fitted_shape_params_", {})  # absent in detectors saved before it was recorded
        for name, value in fitted.items():
            if getattr(self, name) != value:
                raise ValueError(f"{self.registry_name} was fitted with {name}={value!r}, but {name} is now "
                                 f"{getattr(self, name)!r}; it shapes the fitted model, so set it back to "
                                 f"{value!r} or fit again")

    def _series(self, X: Any) -> np.ndarray:
        """``X`` (array, list, DataFrame, tensor or a .csv/.parquet/.npz path) as a numeric ``(T, D)`` array
        with its NaN gaps filled by ``fill``; without ``fill`` a gap is a clear error. The door's checks
        (finite values, float32 range, number of channels) follow in :class:`genad.base.BaseDetector`."""
        values = self._read_series(X)
        if np.issubdtype(values.dtype, np.floating) and np.isnan(values).any():
            values = fill_gaps(values, self.fill)
        return values

    def _read_series(self, X: Any) -> np.ndarray:
        """``X`` as a numeric ``(T, D)`` array, its NaN gaps still in it (a model that treats gaps as missing
        points reads them here)."""
        if isinstance(X, (str, Path)):
            from genad.data import read_table

            X, _ = read_table(X)
        if X is None:
            raise TypeError("X is missing (got None); pass a (T, D) series")
        values = to_numeric_array(X, "X")
        if values.ndim != 2:
            hint = " (reshape a single channel with X.reshape(-1, 1))" if values.ndim == 1 else ""
            raise ValueError(f"a series X must be 2-D (T, D): T time steps of D channels; got an array of shape "
                             f"{values.shape}{hint}")
        return values

    def _windows(self, X: np.ndarray, stride: int) -> np.ndarray:
        return np.ascontiguousarray(sliding_windows(X, self.window, stride), dtype=np.float32)

    def _to_steps(self, window_values: np.ndarray, n_steps: int) -> np.ndarray:
        return fold_windows(window_values, n_steps, self.window, self.score_stride, self.fold)


@hyperparameters
class TorchSeriesDetector(SeriesDetector, TorchDetector):
    """A time-series detector whose network is trained by the shared loop on windows."""

    def _training_tensor(self, X: np.ndarray) -> torch.Tensor:
        return self._tensor(self._windows(X, self.train_stride))

    def _score(self, X: np.ndarray) -> np.ndarray:
        return self._per_step(self._score_batch, X)

    def _per_step(self, fn, X: np.ndarray) -> np.ndarray:
        """``fn`` applied to every scored window of ``X`` (``(B, L, D)`` -> ``(B,)``, ``(B, L)`` or
        ``(B, L, D)``), folded back to the steps as the scores are."""
        return self._to_steps(self._apply(fn, self._windows(X, self.score_stride)), len(X))


@hyperparameters
class RestoringSeriesDetector(TorchSeriesDetector):
    """A window model that produces the series it expects (a reconstruction, or a forecast): ``restore``
    returns that series and ``explain`` its squared difference from the input. Subclasses implement
    ``_reconstruct(batch)``, ``(B, L, D)`` windows in and out. A model that expects no series (MSCRED
    reconstructs correlations) derives from :class:`TorchSeriesDetector` and offers no ``restore``."""

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _reconstruct(batch)")

    def _restore(self, X: np.ndarray) -> np.ndarray:
        return self._per_step(self._reconstruct, X).astype(np.float32)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        return (X - self._restore(X)) ** 2
