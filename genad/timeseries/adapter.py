"""Any tabular detector on sliding windows: ``windowed("ae", length=32)``.

Each window of ``window`` steps is flattened into one row of ``window * D`` features; the tabular
detector is fitted on the (stride-subsampled) training windows, scores every window of the series
to be scored, and each step receives the mean score of the windows that cover it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from genad.base import hyperparameters
from genad.timeseries.base import SeriesDetector


@hyperparameters
class WindowedDetector(SeriesDetector):
    """A tabular detector applied to flattened sliding windows.

    Parameters
    ----------
    model : a registered genad model name (``"ae"``) or an unfitted estimator with ``fit`` and
        ``decision_function`` (higher = more anomalous), e.g. a PyOD detector; it is cloned.
    model_params : constructor parameters for a named model.
    window, train_stride, fill : see :class:`genad.timeseries.base.SeriesDetector`.
    """

    model: Any = "ae"
    model_params: dict | None = None

    def _check_params(self) -> None:
        super()._check_params()
        if isinstance(self.model, str):
            import genad

            genad.get_info(self.model)  # a clear error for an unknown name
        elif not (hasattr(self.model, "fit") and hasattr(self.model, "decision_function")):
            raise TypeError(f"model must be a registered name or an estimator with fit/decision_function, "
                            f"got {self.model!r}")
        if self.model_params is not None and not isinstance(self.model_params, dict):
            raise TypeError(f"model_params must be a dict, got {self.model_params!r}")

    def _make_inner(self):
        if isinstance(self.model, str):
            import genad

            params = dict(self.model_params or {})
            if self.random_state is not None:
                params.setdefault("random_state", self.random_state)
            return genad.create(self.model, **params)
        return clone(self.model)

    def _flat_windows(self, X: np.ndarray, stride: int) -> np.ndarray:
        windows = self._windows(X, stride)
        return windows.reshape(windows.shape[0], -1)

    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        self.inner_ = self._make_inner()
        self.inner_.fit(self._flat_windows(X, self.train_stride))

    def _score(self, X: np.ndarray) -> np.ndarray:
        window_scores = np.asarray(self.inner_.decision_function(self._flat_windows(X, self.score_stride)))
        return self._to_steps(window_scores.astype(np.float64), len(X))

    @property
    def registry_name(self) -> str:  # errors name the wrapped model
        return f"windowed({self.model if isinstance(self.model, str) else type(self.model).__name__})"

    def _moved_to_cpu(self) -> None:
        if hasattr(self, "inner_") and hasattr(self.inner_, "_moved_to_cpu"):
            self.inner_._moved_to_cpu()


def windowed(model: Any, *, length: int = 32, train_stride: int = 1, fill: str | float | None = None,
             contamination: float | str = 0.1, random_state: int | None = None,
             **model_params: Any) -> WindowedDetector:
    """A time-series detector from any tabular one: ``windowed("dagmm", length=16, n_components=4)``.

    ``length`` is the window length; other keyword arguments are the tabular model's parameters.
    """
    return WindowedDetector(model=model, model_params=model_params or None, window=length,
                            train_stride=train_stride, fill=fill, contamination=contamination,
                            random_state=random_state)
