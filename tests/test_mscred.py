"""MSCRED (Zhang et al., AAAI 2019): the detector contract on (T, D) series, and what makes MSCRED itself: signature
matrices of the channels' inner products at several scales, temporal attention over the ConvLSTMs' steps, and a score
that counts the broken correlations, so that two channels falling out of step rank high even when each stays in its
usual range, and the explanation names them."""
import numpy as np
import pytest
import torch

import genad
from genad.metrics import auroc
from genad.models.timeseries.mscred import signature_matrices, temporal_attention
from series_data import check_registered, check_reproducible_and_saved, check_step_scores

FAST = dict(scales=(4, 8, 16), steps=3, gap=4, window=24, train_stride=2, score_stride=1, min_steps=150,
            batch_size=8, lr=1e-3)


def coupled_series(n: int, seed: int) -> np.ndarray:
    """``(n, 4)``: channels 0 and 1 carry the same sine, 2 and 3 their own; N(0, 0.05^2) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = np.c_[np.sin(t / 5), np.sin(t / 5), np.cos(t / 7), np.sin(t / 11)]
    return (base + 0.05 * rng.normal(size=base.shape)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    """Test steps 300-359: channel 1 turns to the opposite phase of channel 0. Each channel keeps its range and
    its rhythm; only their correlation breaks."""
    train, test = coupled_series(600, 0), coupled_series(600, 1)
    labels = np.zeros(len(test), dtype=int)
    t = np.arange(300, 360)
    test[t, 1] = -test[t, 0] + 0.05 * np.random.default_rng(2).normal(size=len(t))
    labels[t] = 1
    return train, test, labels


@pytest.fixture(scope="module")
def fitted(data):
    return genad.create("mscred", random_state=0, **FAST).fit(data[0])


def test_registered_with_its_paper():
    # no restore: it reconstructs correlations, not the series
    check_registered("mscred", "reconstruction", "AAAI", 2019, {"explain"})


def test_signature_matrices_are_scaled_inner_products_over_each_scale():
    windows = torch.arange(2 * 10 * 3, dtype=torch.float32).view(2, 10, 3) / 10
    out = signature_matrices(windows, scales=(2, 4), steps=2, gap=3)
    assert out.shape == (2, 2, 2, 3, 3)  # (B, steps, scales, D, D)
    x = windows[1].numpy()
    older_end = 10 - 3  # the older tensor ends one gap before the window's end
    np.testing.assert_allclose(out[1, 0, 1].numpy(), x[older_end - 4:older_end].T @ x[older_end - 4:older_end] / 4,
                               rtol=1e-6)
    np.testing.assert_allclose(out[1, 1, 0].numpy(), x[8:10].T @ x[8:10] / 2, rtol=1e-6)


def test_attention_weights_the_steps_by_their_similarity_to_the_last():
    last = torch.ones(1, 1, 2, 2)
    hidden = torch.cat([-last, last, last], dim=0).unsqueeze(0)  # steps: opposite, equal, equal (the last)
    out = temporal_attention(hidden, rescale=1.0)
    # weights softmax(-4, 4, 4): the opposite step gets e^-8 / (e^-8 + 2) of the weight
    expected = (2 - np.exp(-8)) / (2 + np.exp(-8))
    np.testing.assert_allclose(out.numpy(), np.full((1, 1, 2, 2), expected), rtol=1e-6)


def test_channels_falling_out_of_step_rank_high_and_are_named(fitted, data):
    train, test, labels = data
    scores = check_step_scores(fitted, train, test)
    assert auroc(labels, scores) >= 0.9
    # a per-step z-score cannot see it: every channel stays in its usual range
    z = np.abs((test - train.mean(axis=0)) / train.std(axis=0)).max(axis=1)
    assert auroc(labels, z) < 0.7
    contributions = fitted.explain(test)
    assert contributions.shape == test.shape
    inside = contributions[labels == 1].mean(axis=0)
    assert set(np.argsort(inside)[-2:]) == {0, 1}  # the two channels whose correlation broke


def test_score_counts_the_broken_elements_of_the_shortest_scale(fitted, data):
    _, test, _ = data
    w, step = fitted.window, 200
    sample = torch.as_tensor(test[step - w + 1:step + 1][None])  # the sample that ends at ``step``
    with torch.no_grad():
        signatures = signature_matrices(fitted.module_.scale(sample), fitted.scales, fitted.steps, fitted.gap)
        residual = fitted.module_(signatures)[0, 0] - signatures[0, -1, 0]
    assert fitted.decision_function(test)[step] == float((residual.pow(2) > fitted.threshold).sum())


def test_same_seed_same_scores_clone_save_load(fitted, data, tmp_path):
    check_reproducible_and_saved("mscred", FAST, fitted, data[0], data[1], tmp_path)


def test_restore_is_not_offered(fitted, data):
    with pytest.raises(NotImplementedError, match="restore"):
        fitted.restore(data[1])


@pytest.mark.parametrize("bad, fragment", [
    (dict(window=20), "window=20 is shorter than one sample.*24"),
    (dict(scales=()), "scales must be a non-empty sequence"),
    (dict(scales=(4, 0)), "scales entries must be"),
    (dict(steps=0), "steps must be"),
    (dict(threshold=-0.1), "threshold must be"),
])
def test_bad_parameters_are_named(bad, fragment, data):
    with pytest.raises((ValueError, TypeError), match=fragment):
        genad.create("mscred", **{**FAST, **bad}).fit(data[0])


def test_scales_changed_after_fit_ask_for_a_refit(fitted, data):
    det = genad.create("mscred", random_state=0, **{**FAST, "min_steps": 1, "epochs": 1}).fit(data[0])
    det.set_params(scales=(4, 8))
    with pytest.raises(ValueError, match="fitted with scales=.*fit again"):
        det.decision_function(data[1])
