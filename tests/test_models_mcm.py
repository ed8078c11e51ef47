"""Behaviour that makes MCM itself: learned, diverse masks; the score is the mean masked reconstruction error."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import genad
from conftest import BASELINE_MARGIN, mean_distance_auroc
from genad.models.reconstruction.mcm import mask_diversity

FAST = dict(epochs=30, lr_decay=0.9, n_masks=5, hidden_dims=(32, 32, 16), random_state=0)


def test_diversity_loss_matches_hand_computed_values():
    n_masks, temperature = 4, 0.5
    scale = 1 / abs((n_masks - 1) * math.log(1 / (n_masks - 1)))
    identical = torch.ones(2, n_masks, 6)
    orthogonal = torch.eye(n_masks, 6).expand(2, n_masks, 6)
    torch.testing.assert_close(mask_diversity(identical, temperature),
                               torch.full((2,), n_masks * (math.log(n_masks - 1) + 1 / temperature) * scale))
    torch.testing.assert_close(mask_diversity(orthogonal, temperature),
                               torch.full((2,), n_masks * math.log(n_masks - 1) * scale))


def test_planted_anomalies_rank_above_normal(planted_norm_matched):
    """Anomalies off the normal rows' subspace, with their norms: the distance to the mean is near chance."""
    X_train, X_test, y_test = planted_norm_matched
    det = genad.create("mcm", **FAST).fit(X_train)
    baseline = mean_distance_auroc(X_train, X_test, y_test)
    assert roc_auc_score(y_test, det.decision_function(X_test)) >= baseline + BASELINE_MARGIN


def _mean_mask_similarity(det, X) -> float:
    with torch.no_grad():
        _, logits = det.module_(torch.as_tensor(X))
    unit = torch.nn.functional.normalize(logits, dim=-1)
    similarity = unit @ unit.transpose(1, 2)
    off_diagonal = ~torch.eye(logits.shape[1], dtype=torch.bool)
    return float(similarity[:, off_diagonal].mean())


def test_diversity_loss_keeps_the_masks_apart(planted):
    X_train, _, _ = planted
    diverse = genad.create("mcm", **FAST).fit(X_train)
    free = genad.create("mcm", **{**FAST, "diversity_weight": 0.0}).fit(X_train)
    assert _mean_mask_similarity(diverse, X_train) < _mean_mask_similarity(free, X_train) - 0.2


def test_score_is_mean_l2_error_over_masks_and_restore_is_mean_reconstruction(planted):
    X_train, X_test, _ = planted
    det = genad.create("mcm", **FAST).fit(X_train)
    with torch.no_grad():
        reconstructions, _ = det.module_(torch.as_tensor(X_test))
    residuals = reconstructions.numpy() - X_test[:, None, :]
    np.testing.assert_allclose(det.decision_function(X_test), np.linalg.norm(residuals, axis=2).mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(det.restore(X_test), reconstructions.mean(dim=1).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(det.explain(X_test), (residuals ** 2).mean(axis=1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [{"n_masks": 2}, {"n_masks": 4.0}, {"mask_layers": 0}, {"temperature": 0.0},
                                 {"diversity_weight": -1.0}, {"hidden_dims": ()}, {"lr_decay": 0.0},
                                 {"lr_decay": 1.5}])
def test_bad_parameters_are_rejected(bad, planted):
    with pytest.raises((ValueError, TypeError)):
        genad.create("mcm", **bad).fit(planted[0])


def test_lr_decay_multiplies_the_learning_rate_each_epoch():
    from genad.training import train_module

    net = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(net.parameters(), lr=1.0)
    train_module(net, lambda batch: net(batch).pow(2).mean(), torch.randn(20, 3), epochs=3, batch_size=8,
                 lr_decay=0.5, optimizer=optimizer)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.125)
