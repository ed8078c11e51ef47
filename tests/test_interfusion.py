"""InterFusion (Li et al., KDD 2021): the detector contract on (T, D) series, and what makes InterFusion itself:
a temporal embedding that carries the window (pre-training leaves the marginal), and scores taken after the
scored steps were imputed by the model, so an anomaly cannot pull the embeddings towards itself."""
import numpy as np
import pytest
import torch

import genad
from genad.metrics import auroc
from genad.synthesis import inject_anomalies
from series_data import check_registered, check_reproducible_and_saved, check_step_scores

# Enough steps for both stages: with fewer, the temporal VAE stays at the series' marginal (see _pretrain).
FAST = dict(window=32, hidden_size=16, dense_size=16, flow_layers=2, flow_hidden=16, train_stride=2, score_stride=2,
            batch_size=32, lr=2e-3, lr_decay=1.0, mcmc_iterations=2, epochs=250, pretrain_epochs=120)
TINY = dict(window=8, hidden_size=4, dense_size=4, flow_layers=1, flow_hidden=4, train_stride=4, pretrain_stride=4,
            epochs=1, pretrain_epochs=1, mcmc_iterations=1)


def mixed_series(seed: int, n: int = 600, n_channels: int = 16) -> np.ndarray:
    """Three sinusoids mixed into 16 correlated channels (as server metrics move together), plus noise."""
    t = np.arange(n)
    sources = np.c_[np.sin(t / 6), np.cos(t / 4), np.sin(t / 9)]
    mixing = np.random.default_rng(123).normal(size=(3, n_channels))
    noise = 0.05 * np.random.default_rng(seed).normal(size=(n, n_channels))
    return (sources @ mixing + noise).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    """Two 40-step stretches replayed 3.5 times faster: inside the normal range, only the dynamics change."""
    test, labels = inject_anomalies(mixed_series(1), "seasonal", n=2, length=40, strength=3.5, seed=3)
    return mixed_series(0), test.astype(np.float32), labels


@pytest.fixture(scope="module")
def fitted(data):
    # One thread: when the VAE leaves the marginal depends on the last bits of every sum, so two threads
    # (another summation order) train another model; one thread trains the same one on every machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return genad.create("interfusion", random_state=0, **FAST).fit(data[0])
    finally:
        torch.set_num_threads(threads)


def test_registered_with_its_paper():
    check_registered("interfusion", "density-implicit", "KDD", 2021, {"explain", "restore"})


def test_planted_anomalies_rank_high(fitted, data):
    train, test, labels = data
    zscore = auroc(labels, np.abs((test - train.mean(0)) / train.std(0)).max(1))
    assert auroc(labels, check_step_scores(fitted, train, test)) >= zscore + 0.2


def test_same_seed_same_scores_clone_save_load(data, tmp_path):
    train, test = data[0][:200], data[1][:200]
    det = genad.create("interfusion", random_state=0, **TINY).fit(train)
    check_reproducible_and_saved("interfusion", TINY, det, train, test, tmp_path)


def test_the_embeddings_carry_the_window(fitted, data):
    """The VAE left the series' marginal: decoded from the posterior means, a training window is restored far
    better than by its channels' means (what a collapsed model restores)."""
    windows = torch.as_tensor(fitted._windows(data[0], 8))
    with torch.no_grad():
        restored = fitted._decoded(windows)[0]
    error = (restored - windows).pow(2).mean().item()
    assert error < 0.25 * windows.var(dim=(0, 1)).mean().item()


def test_imputation_keeps_an_anomaly_from_explaining_itself(fitted, data):
    """A spike on the scored steps: imputed, they return towards the normal values, and the spike's score is
    higher than when the embeddings are inferred from the spiked window itself."""
    _, test, labels = data
    start = int(np.flatnonzero(labels == 0)[100])
    clean = test[start:start + FAST["window"]].copy()
    spiked = clean.copy()
    spiked[-FAST["score_stride"]:] += 3.0
    batch = torch.as_tensor(spiked[None])
    with torch.no_grad():
        imputed_mean = fitted._imputed_decoding(batch)[0][0, -FAST["score_stride"]:].numpy()
        spike_score = fitted._score_batch(batch)[0, -FAST["score_stride"]:].sum().item()
        fitted.set_params(mcmc_iterations=0)
        try:
            raw_score = fitted._score_batch(batch)[0, -FAST["score_stride"]:].sum().item()
        finally:
            fitted.set_params(mcmc_iterations=FAST["mcmc_iterations"])
    tail = slice(-FAST["score_stride"], None)
    assert np.abs(imputed_mean - clean[tail]).mean() < 0.5 * np.abs(spiked[tail] - clean[tail]).mean()
    assert spike_score > raw_score


def test_explain_splits_the_score_by_metric(fitted, data):
    _, test, _ = data
    contributions, restored = fitted.explain(test), fitted.restore(test)
    assert contributions.shape == test.shape and restored.shape == test.shape
    np.testing.assert_allclose(contributions.sum(1), fitted.decision_function(test), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("bad", [{"conv_channels": 0}, {"pretrain_stride": 0}, {"mcmc_iterations": -1},
                                 {"z_dim": 0}, {"validation_fraction": 0.2}])
def test_bad_parameters(bad, data):
    with pytest.raises((ValueError, TypeError)):
        genad.create("interfusion", **{**FAST, "epochs": 1, "pretrain_epochs": 1, **bad}).fit(data[0])
