"""A small drifting stream with planted anomalies, shared by the streaming tests."""
from __future__ import annotations

import numpy as np


def drifting_stream(n: int = 1500, n_features: int = 4, seed: int = 0, norm_matched: bool = False):
    """Correlated Gaussian records whose mean drifts by 4 along the stream; 3% off-pattern planted spikes.

    By default a spike adds a random vector of norm ~8 to a record, so it also stands far from the recent
    mean. With ``norm_matched`` a spike is instead the current drift plus a vector orthogonal to the normal
    records' 2-d pattern whose norm is that of a random normal record's deviation from the drift: the
    distance to the recent mean cannot tell it apart, only the pattern of the records can.
    """
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(2, n_features))
    X = rng.normal(size=(n, 2)) @ mixing + 0.1 * rng.normal(size=(n, n_features))
    deviations = X.copy()
    drift = np.linspace(0, 4.0, n)[:, None]
    X += drift  # gradual concept drift
    y = np.zeros(n, dtype=int)
    spikes = rng.choice(np.arange(100, n), size=int(0.03 * n), replace=False)
    X[spikes] += rng.normal(size=(len(spikes), n_features)) @ np.linalg.qr(rng.normal(size=(n_features, n_features)))[0] * 4.0
    if norm_matched:
        rng = np.random.default_rng(seed + 100)
        off_pattern = np.linalg.qr(mixing.T, mode="complete")[0][:, 2:]  # orthogonal complement of the pattern
        directions = rng.normal(size=(len(spikes), n_features - 2)) @ off_pattern.T
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        norms = np.linalg.norm(deviations[rng.choice(n, len(spikes))], axis=1)
        X[spikes] = drift[spikes] + directions * norms[:, None]
    y[spikes] = 1
    return X.astype(np.float32), y
