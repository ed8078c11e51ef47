"""Small generated data shared by the tests (no downloads, no real data files)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score


def make_planted(n_normal: int = 400, n_anomalies: int = 20, n_features: int = 8, seed: int = 0,
                 norm_matched: bool = False):
    """Correlated Gaussian normals on a low-dimensional subspace, plus off-subspace planted anomalies.

    Returns ``X_train`` (normal rows only), ``X_test`` and ``y_test`` (1 = planted anomaly), standardised
    on ``X_train``. By default the anomalies are also far from the data (large norms), so even the distance
    to the training mean ranks them. With ``norm_matched`` every anomaly instead points in a random direction
    orthogonal to the normal rows' subspace and has the norm of a random normal test row: only a model of the
    normal rows' structure, not their overall scale, can tell them apart (see ``mean_distance_auroc``).
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
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    if norm_matched:
        rng = np.random.default_rng(seed + 100)
        normal_test = X_test[y_test == 0]
        basis = np.linalg.svd(X_train - X_train.mean(0), full_matrices=False)[2][:latent_dim]  # normal subspace
        directions = rng.normal(size=(n_anomalies, n_features))
        directions -= directions @ basis.T @ basis
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        norms = rng.choice(np.linalg.norm(normal_test, axis=1), n_anomalies)
        X_test = np.vstack([normal_test, directions * norms[:, None]])
    return X_train.astype(np.float32), X_test.astype(np.float32), y_test


def mean_distance_auroc(X_train, X_test, y_test) -> float:
    """AUROC of the trivial baseline that scores a row by its distance to the training mean."""
    return roc_auc_score(y_test, np.linalg.norm(X_test - X_train.mean(0), axis=1))


# How much a model must beat ``mean_distance_auroc`` on the norm-matched planted data: on it the baseline
# is near chance, so a model must have learned the normal rows' structure.
BASELINE_MARGIN = 0.2


@pytest.fixture(scope="session")
def planted():
    return make_planted()


@pytest.fixture(scope="session")
def planted_norm_matched():
    return make_planted(norm_matched=True)
