"""A small drifting stream with planted anomalies, shared by the streaming tests."""
from __future__ import annotations

import numpy as np


def drifting_stream(n: int = 1500, n_features: int = 4, seed: int = 0):
    """Correlated Gaussian records whose mean drifts by 4 along the stream; 3% off-pattern planted spikes."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(2, n_features))
    X = rng.normal(size=(n, 2)) @ mixing + 0.1 * rng.normal(size=(n, n_features))
    X += np.linspace(0, 4.0, n)[:, None]  # gradual concept drift
    y = np.zeros(n, dtype=int)
    spikes = rng.choice(np.arange(100, n), size=int(0.03 * n), replace=False)
    X[spikes] += rng.normal(size=(len(spikes), n_features)) @ np.linalg.qr(rng.normal(size=(n_features, n_features)))[0] * 4.0
    y[spikes] = 1
    return X.astype(np.float32), y
