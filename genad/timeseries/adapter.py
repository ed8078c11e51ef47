"""Any tabular detector on sliding windows: ``windowed("ae", length=32)``.

Each window of ``window`` steps is flattened into one row of ``window * D`` features; the tabular
detector is fitted on the (stride-subsampled) training windows, scores every window of the series
to be scored, and each step receives the mean score of the windows that cover it. When the tabular
model can ``restore`` or ``explain``, so can the windowed one: each step and channel gets the mean over
the windows that cover it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from genad.base import BaseDetector, hyperparameters
from genad.timeseries.base import SeriesDetector
from genad.timeseries.windows import window_starts


@hyperparameters
class WindowedDetector(SeriesDetector):
    """A tabular detector applied to flattened sliding windows.

    Parameters
    ----------
    model : a registered tabular genad model name (``"ae"``) or an unfitted estimator with ``fit`` and
        ``decision_function`` (higher = more anomalous), e.g. a PyOD detector; it is cloned. Time-series
        and stream models are refused: they read series or streams, not flattened windows.
    model_params : constructor parameters for a named model.
    window, train_stride, fill : see :class:`genad.timeseries.base.SeriesDetector`.
    """

    model: Any = "ae"
    model_params: dict | None = None

    def _check_params(self) -> None:
        super()._check_params()
        if not isinstance(self.model, str) and not (hasattr(self.model, "fit")
                                                    and hasattr(self.model, "decision_function")):
            raise TypeError(f"model must be a registered name or an estimator with fit/decision_function, "
                            f"got {self.model!r}")
        _check_tabular(self.model)
        if self.model_params is not None and not isinstance(self.model_params, dict):
            raise TypeError(f"model_params must be a dict, got {self.model_params!r}")
        if self.model_params and not isinstance(self.model, str):
            raise ValueError("model_params apply to a model given by name; set the parameters on the "
                             f"estimator itself ({type(self.model).__name__}(...)) instead")
        self._check_inner()

    def _check_inner(self) -> None:
        """The inner model's parameters, checked now (building a genad model is cheap; fitting is not),
        so that a bad one is named at the door rather than deep inside fit."""
        inner = self._make_inner() if isinstance(self.model, str) else self.model
        if not isinstance(inner, BaseDetector):
            return
        try:
            inner._check_params()
        except (TypeError, ValueError) as err:  # say which model the parameter belongs to
            raise type(err)(f"{self.registry_name}: the wrapped model's {err}") from None

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
        return self._to_steps(self._window_scores(X), len(X))

    def _training_scores(self, X: np.ndarray) -> np.ndarray:
        # the windows the inner model was fitted on keep its own training scores, which leave each one out of its
        # neighbours where the model needs it (DTE-NP, PyOD's KNN); re-scored, they would be their own neighbours
        window_scores = self._window_scores(X)
        own = getattr(self.inner_, "decision_scores_", None)
        if own is not None:
            _, scored, fitted = np.intersect1d(window_starts(len(X), self.window, self.score_stride),
                                               window_starts(len(X), self.window, self.train_stride),
                                               return_indices=True)
            window_scores[scored] = np.asarray(own, dtype=np.float64)[fitted]
        return self._to_steps(window_scores, len(X))

    def _restore(self, X: np.ndarray) -> np.ndarray:
        """Every window restored by the inner model; each step and channel the mean of its restorations."""
        restored = self._inner_windows("restore", X)
        return self._to_steps(restored, len(X)).astype(np.float32)

    def _explain(self, X: np.ndarray) -> np.ndarray:
        """The inner model's per-feature contributions of every window, each step and channel the mean of its
        windows' contributions (the windows' scores are spread over their steps the same way)."""
        return self._to_steps(self._inner_windows("explain", X), len(X))

    def _inner_windows(self, capability: str, X: np.ndarray) -> np.ndarray:
        """The inner model's ``restore``/``explain`` of every window, as ``(windows, window, D)``."""
        method = getattr(self.inner_, capability, None)
        if method is None:  # a PyOD or scikit-learn detector
            raise self._missing(capability)
        try:
            values = np.asarray(method(self._flat_windows(X, self.score_stride)), dtype=np.float64)
        except NotImplementedError:
            raise self._missing(capability) from None
        return values.reshape(-1, self.window, X.shape[1])

    def _window_scores(self, X: np.ndarray) -> np.ndarray:
        """The inner model's score of each window, every ``score_stride`` steps."""
        return np.asarray(self.inner_.decision_function(self._flat_windows(X, self.score_stride)), dtype=np.float64)

    @property
    def registry_name(self) -> str:  # errors name the wrapped model
        return f"windowed({self.model if isinstance(self.model, str) else type(self.model).__name__})"

    def _moved_to_cpu(self) -> None:
        if hasattr(self, "inner_") and hasattr(self.inner_, "_moved_to_cpu"):
            self.inner_._moved_to_cpu()


def _check_tabular(model: Any) -> None:
    """``model`` (a name or an estimator) reads tabular rows, as the flattened windows are: genad's
    time-series and stream models expect a series or a stream and would silently misread the windows."""
    import genad

    if isinstance(model, str):
        name, modalities = model, genad.get_info(model).modalities  # a clear error for an unknown name
    elif isinstance(model, SeriesDetector):
        name, modalities = model.registry_name, ("time-series",)
    else:  # a genad detector is found by its class; other estimators (PyOD, sklearn) are taken as tabular
        info = next((i for i in genad.list_models() if i.cls is type(model)), None)
        if info is None:
            return
        name, modalities = info.name, info.modalities
    if "tabular" not in modalities:
        hint = "; use it on the series directly" if "time-series" in modalities else ""
        raise ValueError(f"windowed() runs a tabular model on flattened windows, but {name!r} is a "
                         f"{'/'.join(modalities)} model{hint} (tabular models: genad.list_models('tabular'))")


def windowed(model: Any, *, length: int = 32, train_stride: int = 1, fill: str | float | None = None,
             contamination: float | str = 0.1, random_state: int | None = None,
             **model_params: Any) -> WindowedDetector:
    """A time-series detector from any tabular one: ``windowed("dagmm", length=16, n_components=4)``.

    ``length`` is the window length; other keyword arguments are the tabular model's parameters.
    """
    if "window" in model_params:  # WindowedDetector's name for it; the tabular model would reject it at fit
        raise TypeError("windowed() takes the window length as length=..., not window=...")
    return WindowedDetector(model=model, model_params=model_params or None, window=length,
                            train_stride=train_stride, fill=fill, contamination=contamination,
                            random_state=random_state)
