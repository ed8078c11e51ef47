"""LSTM forecaster with nonparametric dynamic thresholding (Telemanom)."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from genad.base import hyperparameters
from genad.registry import Paper, register
from genad.timeseries.base import RestoringSeriesDetector
from genad.timeseries.thresholds import DynamicThreshold
from genad.validation import check_choice, check_float, check_int


class _Forecaster(nn.Module):
    def __init__(self, n_features: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, n_features)

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        """Prediction of step t+1 from every prefix ending at t: ``(B, L, D)`` -> ``(B, L, D)``."""
        return self.head(self.lstm(history)[0])


@register(
    "lstm_ad", family="density-explicit", modalities=("time-series",),
    paper=Paper("Detecting Spacecraft Anomalies Using LSTMs and Nonparametric Dynamic Thresholding",
                "Hundman, Constantinou, Laporte, Colwell & Soderstrom", "KDD", 2018),
)
@hyperparameters
class LSTMAD(RestoringSeriesDetector):
    """LSTM next-step forecaster scored by smoothed prediction errors (Hundman et al., KDD 2018).

    An LSTM reads the last ``window - 1`` steps and predicts the next one; the prediction error
    ``e_t = mean_d |x_t - x̂_t|`` is smoothed by an exponentially weighted moving average
    (``smoothing_span``), and the smoothed error is the anomaly score of step ``t`` (an autoregressive,
    density-driven model in the survey's taxonomy). ``predict`` uses the paper's nonparametric
    dynamic threshold (:class:`genad.timeseries.thresholds.DynamicThreshold`) on the smoothed
    errors of the series being scored, unless ``threshold="contamination"``.

    As in the reference, the first ``window`` smoothed errors of a series are set to the mean of the first
    ``2 * window`` (the reference: ``l_s``, its input length), where the moving average has not settled.

    Paper defaults kept: 2 LSTM layers of 80 units, dropout 0.3, Adam, MSE loss, at most 35 epochs
    (until the twelfth session genad trained 5, for CPU time; the paper's 35 scored 0.350 against 0.335 mean
    VUS-PR on the time-series development data, ``benchmarks/ts_dev_injected.py``), validation split 20% with
    early stopping (patience 10), EWMA smoothing over 5% of a 2,100-error window (span 105), dynamic-threshold
    ``z`` in 2.5..12, error buffer 100, pruning ``p = 0.13``.

    Deviations (CPU budget, multivariate data): windows of 64 steps instead of 250 (on the development data
    250 scored 0.353 against 0.350 at 3.6 times the time, and it cannot fit the 8 NAB series whose training
    part is shorter than 250 steps); training
    windows subsampled with ``train_stride=8``; batches of 128 instead of 70; scored windows every
    ``score_stride=8`` steps (each step is forecast with at least 56 steps of context); the loss is taken at
    every position of the window (teacher forcing, one-step-ahead) instead of only on the last
    ``l_p = 10`` predictions; every channel is predicted and the error is the mean absolute error
    over channels (Telemanom predicts one telemetry channel per model); the continuous score is the
    smoothed error (the paper's per-sequence severity ``(max e - eps) / (mu + sigma)`` applies only to
    flagged sequences and is not a per-step score); dropout acts between the two LSTM layers only (torch's
    ``nn.LSTM``; the reference's Keras model also drops after the second); the validation rows are a random
    20% of the training windows (Keras takes the last 20%).

    Parameters
    ----------
    hidden_size, num_layers, dropout : the LSTM.
    smoothing_span : EWMA span of the error smoothing.
    threshold : ``"dynamic"`` (the paper's) or ``"contamination"`` (the base rule on training scores).
    error_buffer : steps flagged on each side of errors above the dynamic threshold (paper code: 100).
    **base : window, train_stride, fill and the settings of :class:`genad.base.TorchDetector`.

    References
    ----------
    Hundman, K., Constantinou, V., Laporte, C., Colwell, I. and Soderstrom, T. "Detecting Spacecraft
    Anomalies Using LSTMs and Nonparametric Dynamic Thresholding". KDD 2018.
    """

    window: int = 64
    train_stride: int = 8
    score_stride: int = 8
    hidden_size: int = 80
    num_layers: int = 2
    dropout: float = 0.3
    smoothing_span: int = 105
    threshold: str = "dynamic"
    error_buffer: int = 100
    epochs: int = 35
    batch_size: int = 128
    validation_fraction: float = 0.2
    patience: int | None = 10

    fold = "last"

    def _check_params(self) -> None:
        super()._check_params()
        check_int("window", self.window, low=2)
        check_int("hidden_size", self.hidden_size, low=1)
        check_int("num_layers", self.num_layers, low=1)
        check_float("dropout", self.dropout, 0.0, 1.0, high_closed=False)
        check_int("smoothing_span", self.smoothing_span, low=1)
        check_choice("threshold", self.threshold, ("dynamic", "contamination"))
        check_int("error_buffer", self.error_buffer, low=0)

    def _build_module(self, n_features: int) -> nn.Module:
        return _Forecaster(n_features, self.hidden_size, self.num_layers, self.dropout)

    def _loss(self, batch: torch.Tensor) -> torch.Tensor:
        return (self.module_(batch[:, :-1]) - batch[:, 1:]).pow(2).mean()

    def _score_batch(self, batch: torch.Tensor) -> torch.Tensor:
        errors = (self.module_(batch[:, :-1]) - batch[:, 1:]).abs().mean(dim=2)
        return torch.cat([errors[:, :1], errors], dim=1)  # the first step has no forecast: reuse the next

    def _reconstruct(self, batch: torch.Tensor) -> torch.Tensor:
        forecast = self.module_(batch[:, :-1])
        return torch.cat([batch[:, :1], forecast], dim=1)  # the first step is given, not forecast

    def _score(self, X: np.ndarray) -> np.ndarray:
        errors = super()._score(X)
        smoothed = pd.Series(errors).ewm(span=self.smoothing_span).mean().to_numpy().copy()
        # as the reference: the first window's smoothed errors, from a short average, are replaced by the mean of
        # the first two windows' (an unsettled average would look like a drop, or a burst, of the errors)
        smoothed[:self.window] = smoothed[:2 * self.window].mean()
        return smoothed

    def fit(self, X: Any, y: Any = None) -> "LSTMAD":
        super().fit(X, y)
        if self.threshold == "dynamic":
            self._set_threshold(DynamicThreshold(buffer=self.error_buffer), self.decision_scores_)
        return self
