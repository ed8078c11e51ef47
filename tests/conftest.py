"""Small generated data shared by the tests (no downloads, no real data files)."""
from __future__ import annotations

import numpy as np
import pytest


def make_planted(n_normal: int = 400, n_anomalies: int = 20, n_features: int = 8, seed: int = 0):
    """Correlated Gaussian normals on a low-dimensional subspace, plus off-subspace planted anomalies.

    Returns ``X_train`` (normal rows only), ``X_test`` and ``y_test`` (1 = planted anomaly).
    """
    rng = np.random.default_rng(seed)
    latent_dim = max(2, n_features // 3)
    mixing = rng.normal(size=(latent_dim, n_features))

    def normal(n):
        return rng.normal(size=(n, latent_dim)) @ mixing + 0.05 * rng.normal(size=(n, n_features))

    X_train = normal(n_normal)
    anomalies = rng.normal(size=(n_anomalies, n_features)) * 2.5 + rng.choice([-3, 3], size=(n_anomalies, n_features))
    X_test = np.vstack([normal(n_normal // 2), anomalies])
    y_test = np.r_[np.zeros(n_normal // 2), np.ones(n_anomalies)].astype(int)
    mean, std = X_train.mean(0), X_train.std(0)
    return ((X_train - mean) / std).astype(np.float32), ((X_test - mean) / std).astype(np.float32), y_test


@pytest.fixture(scope="session")
def planted():
    return make_planted()
