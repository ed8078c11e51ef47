"""Donut (Xu et al., WWW 2018): the detector contract on (T, D) series, and what makes Donut itself: a VAE
over flattened windows trained on the M-ELBO (missing points leave the likelihood and scale the prior
term), with points injected as missing in training, scored by the reconstruction probability of each
window's newest point."""
import numpy as np
import pytest
import torch

import genad
from genad.metrics import auroc
from series_data import (check_registered, check_reproducible_and_saved, check_step_scores, periodic_series,
                         spiked_series)

# the test series has three channels of unrelated periods, three phases to encode: two latent dimensions each
FAST = dict(window=16, epochs=100, batch_size=64, hidden_size=32, z_dim=6, n_samples=16, validation_fraction=0.0,
            patience=None)


@pytest.fixture(scope="module")
def data():
    """Twelve single-step spikes of 1.5 on one channel of a periodic three-channel series."""
    return spiked_series()


@pytest.fixture(scope="module")
def fitted(data):
    return genad.create("donut", random_state=0, **FAST).fit(data[0])


# --- the detector contract ------------------------------------------------------------------------------
def test_registered_with_its_paper():
    check_registered("donut", "density-implicit", "WWW", 2018, {"explain", "restore"})


def test_scores_one_per_step_and_planted_spikes_rank_high(fitted, data):
    train, test, labels = data
    assert auroc(labels, check_step_scores(fitted, train, test)) >= 0.95


def test_same_seed_same_scores_clone_save_load(fitted, data, tmp_path):
    check_reproducible_and_saved("donut", FAST, fitted, data[0], data[1], tmp_path)


def test_explain_sums_to_the_score_and_restore_follows_the_series(fitted, data):
    _, test, _ = data
    contributions = fitted.explain(test)
    assert contributions.shape == test.shape
    np.testing.assert_allclose(contributions.sum(1), fitted.decision_function(test), rtol=1e-6)
    restored = fitted.restore(test)
    assert restored.shape == test.shape
    assert np.mean((restored - test) ** 2) < 0.5 * np.mean((test - test.mean(0)) ** 2)


# --- what makes Donut itself ---------------------------------------------------------------------------
def test_score_of_a_step_reads_only_its_own_window(fitted, data):
    """A step is scored in the window that ends at it (on-time detection): changing a later step leaves
    every earlier score unchanged, and changes the changed step's own score."""
    _, test, _ = data
    changed = test.copy()
    changed[200] += 3.0
    before, after = fitted.decision_function(test), fitted.decision_function(changed)
    np.testing.assert_allclose(after[:200], before[:200], rtol=1e-5, atol=1e-5)
    assert after[200] > before[200] + 1.0


def test_a_missing_point_leaves_the_m_elbo(fitted):
    """With the point marked missing (alpha = 0), its value changes nothing: the encoder sees the fill value
    and its likelihood term is dropped; and with every point missing only the prior and posterior terms
    remain, the prior's scaled by beta = 0."""
    x = torch.randn(4, 16 * 3)
    observed = torch.ones_like(x)
    observed[:, 5] = 0.0
    other = x.clone()
    other[:, 5] += 10.0
    with torch.no_grad():
        torch.manual_seed(0)
        first = fitted._m_elbo(x, observed)
        torch.manual_seed(0)
        second = fitted._m_elbo(other, observed)
        torch.manual_seed(0)
        seen = fitted._m_elbo(other, torch.ones_like(x))
        torch.manual_seed(0)
        none = fitted._m_elbo(x, torch.zeros_like(x))
        mean, std = fitted.module_.posterior(torch.zeros_like(x))
        torch.manual_seed(0)
        z = mean + std * torch.randn_like(std)
    torch.testing.assert_close(first, second)
    assert (seen < first).all()  # observed, the far-off value costs likelihood
    expected = -(-0.5 * (((z - mean) / std) ** 2 + np.log(2 * np.pi)) - torch.log(std)).sum(1)
    torch.testing.assert_close(none, expected)


def test_training_injects_missing_points_only_in_training_mode(fitted):
    """The loss marks points missing at random in training mode (so two draws differ), never in eval mode,
    where the validation loss is the plain ELBO."""
    window = periodic_series(64, seed=3)[:16]
    batch = torch.as_tensor(np.c_[window, np.zeros_like(window)][None].repeat(8, 0))  # no point missing
    module = fitted.module_
    with torch.no_grad():
        module.train()
        torch.manual_seed(1)
        with_injection = fitted._loss(batch)
        module.eval()
        torch.manual_seed(1)
        plain = fitted._loss(batch)
        torch.manual_seed(1)
        x = batch[..., :3].flatten(1)
        expected = -fitted._m_elbo(x, torch.ones_like(x)).mean()
        expected = expected + fitted.l2 * sum(w.pow(2).sum() for w in module.hidden_weights())
    torch.testing.assert_close(plain, expected)
    assert not torch.isclose(with_injection, plain)


def test_filled_gaps_are_missing_points_in_training(data):
    """Points that ``fill`` filled travel with the training windows as missing (alpha = 0 in the M-ELBO)."""
    train = data[0].copy()
    train[100:104, 1] = np.nan
    det = genad.create("donut", random_state=0, fill="linear", **{**FAST, "epochs": 1})
    det.fit(train)
    windows = det._training_tensor(det._series(train)).numpy()
    missing = windows[..., 3:]
    assert set(np.unique(missing)) == {0.0, 1.0}
    expected = np.isnan(train).astype(np.float32)
    np.testing.assert_array_equal(missing[0], expected[:16])
    np.testing.assert_array_equal(missing[95], expected[95:111])


def test_mcmc_imputation_repairs_a_badly_filled_gap(fitted, data):
    """A gap filled with a far-off value: MCMC imputation replaces it before the windows are encoded, so the
    steps whose windows hold the gap (but are not in it) score lower than without imputation; a series without
    gaps scores the same either way."""
    _, test, _ = data
    gappy = test.copy()
    gappy[200:203] = np.nan
    imputed = fitted.set_params(fill=4.0, mcmc_iterations=10).decision_function(gappy)
    raw = fitted.set_params(mcmc_iterations=0).decision_function(gappy)
    plain_without = fitted.decision_function(test)
    plain_with = fitted.set_params(fill=None, mcmc_iterations=10).decision_function(test)
    after_gap = slice(203, 215)  # windows ending here hold the filled points
    assert imputed[after_gap].mean() < raw[after_gap].mean() - 1.0
    np.testing.assert_array_equal(plain_with, plain_without)


def test_the_last_series_mask_is_not_saved_with_the_model(fitted, data, tmp_path):
    fitted.decision_function(data[1])
    fitted.save(tmp_path / "m.genad")
    assert not hasattr(genad.load(tmp_path / "m.genad"), "_missing_points")


def test_the_m_elbo_training_improves_the_validation_elbo(data):
    short = genad.create("donut", random_state=0, **{**FAST, "epochs": 2, "validation_fraction": 0.3}).fit(data[0])
    longer = genad.create("donut", random_state=0, **{**FAST, "validation_fraction": 0.3}).fit(data[0])
    assert min(longer.history_["val_loss"]) < min(short.history_["val_loss"])


@pytest.mark.parametrize("bad, error", [
    (dict(missing_rate=1.0), ValueError), (dict(missing_rate=-0.1), ValueError), (dict(n_samples=0), ValueError),
    (dict(z_dim=0), ValueError), (dict(l2=-1.0), ValueError), (dict(std_eps=0.0), ValueError),
    (dict(hidden_size=2.5), TypeError), (dict(mcmc_iterations=-1), ValueError),
])
def test_bad_parameters_are_named(bad, error, data):
    name = next(iter(bad))
    with pytest.raises(error, match=name):
        genad.create("donut", **{**FAST, **bad}).fit(data[0])


def test_a_series_shorter_than_one_window_is_refused(data):
    with pytest.raises(ValueError, match="fewer than one window"):
        genad.create("donut", **FAST).fit(data[0][:10])
