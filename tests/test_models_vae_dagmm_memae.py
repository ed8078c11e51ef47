"""What makes VAE, DAGMM and MemAE themselves (the generic contract is in test_contract.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import genad
from genad.nn.gmm import mixture_parameters
from conftest import BASELINE_MARGIN, mean_distance_auroc

# Enough optimisation steps on the 400 planted rows (the defaults are sized for ~10^4 rows).
SETTINGS = {
    "vae": {"epochs": 60, "batch_size": 64},
    "dagmm": {"epochs": 200, "batch_size": 64},
    "memae": {"epochs": 100, "batch_size": 64},
}


@pytest.fixture(scope="module")
def fitted(planted):
    X_train, _, _ = planted
    return {name: genad.create(name, random_state=0, **params).fit(X_train) for name, params in SETTINGS.items()}


# An untrained DAGMM already ranks the norm-matched anomalies at AUROC 0.86 (its mixture, fitted after training,
# sees the random encoder's reconstruction features); the trained one must do clearly better (0.95).
MARGIN = {"dagmm": 0.3}


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_planted_anomalies_rank_above_normal(fitted, planted_norm_matched, name):
    """Anomalies off the normal rows' subspace, with their norms: the distance to the mean is near chance."""
    X_train, X_test, y_test = planted_norm_matched  # the same training rows as ``planted``, which fitted uses
    baseline = mean_distance_auroc(X_train, X_test, y_test)
    auc = roc_auc_score(y_test, fitted[name].decision_function(X_test))
    assert auc >= baseline + MARGIN.get(name, BASELINE_MARGIN)


# --- DAGMM ---------------------------------------------------------------------------------------

def test_dagmm_energy_is_finite_and_higher_on_anomalies(fitted, planted):
    _, X_test, y_test = planted
    energy = fitted["dagmm"].decision_function(X_test)
    assert np.isfinite(energy).all()
    assert np.median(energy[y_test == 1]) > np.quantile(energy[y_test == 0], 0.9)


def test_dagmm_energy_stays_finite_on_extreme_rows(fitted, planted):
    _, X_test, _ = planted
    extreme = np.vstack([np.zeros((1, X_test.shape[1])), X_test[:5] * 1e3, X_test[:5] * 1e-6])
    assert np.isfinite(fitted["dagmm"].decision_function(extreme)).all()


def test_dagmm_mixture_is_fitted_on_training_rows(fitted, planted):
    """phi, mu and Sigma are the closed-form estimates from all training rows' (z, gamma), dropout off."""
    X_train, _, _ = planted
    det = fitted["dagmm"]
    mixture = det.module_.mixture
    det.module_.eval()
    with torch.no_grad():
        _, z, gamma = det.module_(torch.as_tensor(X_train))
    phi, mu, sigma = mixture_parameters(z, gamma)
    torch.testing.assert_close(mixture.phi, phi, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(mixture.mu, mu, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mixture.sigma, sigma, rtol=1e-5, atol=1e-6)
    # not the initial 1/K, 0, I: the check above would be vacuous if the fitted mixture happened to be that
    assert not torch.allclose(mixture.sigma, torch.eye(sigma.shape[-1], dtype=sigma.dtype).expand_as(sigma))
    assert mixture.phi.sum().item() == pytest.approx(1.0)
    assert (mixture.phi > 0).all()
    assert (torch.linalg.eigvalsh(mixture.sigma) > -1e-9).all()       # covariances are PSD


# --- MemAE ---------------------------------------------------------------------------------------

def test_memae_addressing_is_sparse_after_shrinkage(fitted, planted):
    _, X_test, _ = planted
    weights = fitted["memae"].addressing_weights(X_test)
    assert weights.shape == (len(X_test), fitted["memae"].n_items)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-4)   # re-normalised
    assert (weights == 0).mean() > 0.5                                  # most weights exactly zero


def test_memae_without_shrinkage_addresses_every_item(planted):
    X_train, X_test, _ = planted
    dense = genad.create("memae", shrink_threshold=0.0, epochs=2, random_state=0).fit(X_train)
    assert (dense.addressing_weights(X_test) > 0).all()                # softmax alone is never sparse


# --- VAE -----------------------------------------------------------------------------------------

def test_vae_samples_match_the_training_distribution(fitted, planted):
    X_train, _, _ = planted
    draws = fitted["vae"].sample(4000)
    # The training data are standardised (mean 0, variance 1) and lie near a 2-d subspace, so
    # feature correlations reach +-1. Sampling error with 4000 draws is ~0.02 on means and
    # correlations; the rest of the tolerance is model error of a small VAE fitted in seconds on
    # 400 rows. VAE samples are known to be under-dispersed (the prior covers regions the
    # aggregate posterior leaves empty): we measured variances 0.4-0.9, hence the [0.3, 1.5] band.
    # A broken sampler fails clearly: decoding z = 0 only gives variances near the decoder's
    # noise (~0.01) and correlations near 0; independent features miss correlations of ~1.
    assert np.abs(draws.mean(axis=0) - X_train.mean(axis=0)).max() < 0.25
    variances = draws.var(axis=0)
    assert (variances > 0.3).all() and (variances < 1.5).all()
    correlation_gap = np.abs(np.corrcoef(draws.T) - np.corrcoef(X_train.T)).max()
    assert correlation_gap < 0.25


@pytest.mark.parametrize("name", ["vae", "beta_vae", "iwae"])
def test_vae_family_scores_rows_far_outside_the_training_range(name, fitted, planted):
    """A row 10^4 standard deviations out once made q(z|x)'s variance overflow float32 (NaN scores)."""
    X_train, X_test, _ = planted
    det = fitted["vae"] if name == "vae" else genad.create(name, random_state=0, epochs=5).fit(X_train)
    extreme = X_test[:5].copy()
    extreme[:, 0] = 1e4
    scores = det.decision_function(np.vstack([X_test[:5], extreme]))
    assert np.isfinite(scores).all() and scores[5:].min() > scores[:5].max()


def test_vae_sampling_is_seeded(fitted):
    np.testing.assert_array_equal(fitted["vae"].sample(8), fitted["vae"].sample(8))


def test_vae_score_changes_with_l_only_by_monte_carlo_noise(fitted, planted):
    _, X_test, _ = planted
    det = fitted["vae"]
    scores = {}
    for n_samples in (1, 10, 500):
        det.set_params(n_samples=n_samples)
        scores[n_samples] = det.decision_function(X_test)
    det.set_params(n_samples=SETTINGS["vae"].get("n_samples", 10))
    reference, spread = scores[500], scores[500].std()
    gap_1, gap_10 = (np.abs(scores[n] - reference).mean() for n in (1, 10))
    assert gap_10 < gap_1                           # the estimate converges as L grows
    assert gap_10 < 0.1 * spread                    # and is already close at the default L
    assert np.corrcoef(scores[10], reference)[0, 1] > 0.99


def test_vae_explanation_sums_to_score(fitted, planted):
    _, X_test, _ = planted
    det = fitted["vae"]
    np.testing.assert_allclose(det.explain(X_test).sum(axis=1), det.decision_function(X_test), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("name, bad", [
    ("vae", {"latent_dim": 0}), ("vae", {"n_samples": 0}), ("vae", {"hidden_dims": ()}),
    ("dagmm", {"n_components": 0}), ("dagmm", {"dropout": 1.0}), ("dagmm", {"lambda_energy": -0.1}),
    ("memae", {"n_items": 0}), ("memae", {"shrink_threshold": 1.5}), ("memae", {"entropy_weight": -1.0}),
])
def test_own_parameters_are_validated(name, bad, planted):
    X_train, _, _ = planted
    with pytest.raises((ValueError, TypeError)):
        genad.create(name, **bad).fit(X_train)
