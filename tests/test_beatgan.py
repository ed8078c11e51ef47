"""BeatGAN (Zhou et al., IJCAI 2019): the detector contract on (T, D) series, and what makes BeatGAN itself: a
window autoencoder and a discriminator, each with its own optimizer, the generator pulled toward the real windows'
discriminator features, and the window's mean squared error as its score."""
import numpy as np
import pytest
import torch

import genad
from genad.metrics import auroc
from series_data import check_registered, check_reproducible_and_saved, check_step_scores, periodic_series

FAST = dict(window=16, train_stride=2, hidden_dims=(32, 16), latent_dim=4, min_steps=600, lr=1e-3)


@pytest.fixture(scope="module")
def data():
    """A 40-step stretch where channel 0 changes its period: its values stay in range, its shape does not."""
    train, test = periodic_series(600, 0), periodic_series(600, 1)
    labels = np.zeros(len(test), dtype=int)
    t = np.arange(300, 340)
    test[t, 0] = np.sin(t / 1.5) + 0.05 * np.random.default_rng(2).normal(size=len(t))
    labels[t] = 1
    return train, test, labels


@pytest.fixture(scope="module")
def fitted(data):
    return genad.create("beatgan", random_state=0, **FAST).fit(data[0])


def test_registered_with_its_paper():
    check_registered("beatgan", "adversarial", "IJCAI", 2019, {"explain", "restore"})


def test_scores_one_per_step_and_a_changed_rhythm_ranks_high(fitted, data):
    train, test, labels = data
    assert auroc(labels, check_step_scores(fitted, train, test)) >= 0.9


def test_same_seed_same_scores_clone_save_load(fitted, data, tmp_path):
    check_reproducible_and_saved("beatgan", FAST, fitted, data[0], data[1], tmp_path)
    assert not hasattr(fitted, "_adversary_optimizer")  # training state is not saved with the model


def test_score_is_the_mean_squared_error_of_the_windows_covering_a_step(fitted, data):
    _, test, _ = data
    net, w = fitted.module_, fitted.window
    windows = torch.as_tensor(np.stack([test[i:i + w] for i in range(len(test) - w + 1)]))
    with torch.no_grad():
        x = net.scale(windows)
        window_scores = (x - net.generate(x)).pow(2).mean(dim=1).numpy()
    step = 100  # covered by the windows starting at 100 - w + 1 ... 100
    np.testing.assert_allclose(fitted.decision_function(test)[step], window_scores[step - w + 1:step + 1].mean(),
                               rtol=1e-4)


def test_windows_are_scaled_to_the_training_range(fitted, data):
    train, _, _ = data
    scaled = fitted.module_.scale(torch.as_tensor(train[None]))
    assert float(scaled.min()) == pytest.approx(-1.0, abs=1e-5) and float(scaled.max()) == pytest.approx(1.0, abs=1e-5)


def test_restore_and_explain(fitted, data):
    _, test, labels = data
    restored, contributions = fitted.restore(test), fitted.explain(test)
    assert restored.shape == test.shape and contributions.shape == test.shape
    anomalous = labels == 1
    assert np.abs(restored - test)[anomalous, 0].mean() > 3 * np.abs(restored - test)[~anomalous, 0].mean()
    # the changed channel carries the explanation inside the anomaly
    assert contributions[anomalous].mean(axis=0).argmax() == 0


def test_discriminator_and_generator_each_take_their_own_steps(data):
    """One batch: the discriminator's step moves only its weights, the generator's only the autoencoder's; the
    feature-matching term changes the generator's updates (w_adv=0 gives others)."""
    train, _, _ = data
    params = dict(FAST, min_steps=1, batch_size=10_000)
    det = genad.create("beatgan", random_state=0, **params).fit(train)
    fresh = genad.create("beatgan", random_state=0, **dict(params, min_steps=0, epochs=1, lr=1e-12)).fit(train)
    gen = [n for n, _ in det.module_.named_parameters() if n.startswith(("encoder", "decoder"))]
    disc = [n for n, _ in det.module_.named_parameters() if n.startswith(("features", "head"))]
    moved = {n for n, p in det.module_.named_parameters()
             if not torch.allclose(p, dict(fresh.module_.named_parameters())[n], atol=1e-9)}
    assert set(gen) <= moved and set(disc) <= moved
    # Adam's first step has the same size whatever the gradient's, so compare after a few
    matched, plain = (genad.create("beatgan", random_state=0, **dict(params, min_steps=5, w_adv=w)).fit(train)
                      for w in (0.01, 0.0))
    assert not torch.allclose(plain.module_.decoder[0].weight, matched.module_.decoder[0].weight)


@pytest.mark.parametrize("bad", [{"hidden_dims": ()}, {"latent_dim": 0}, {"w_adv": -1.0},
                                 {"validation_fraction": 0.2}])
def test_bad_parameters_are_named(bad, data):
    name = next(iter(bad))
    with pytest.raises((ValueError, TypeError), match=name):
        genad.create("beatgan", **bad).fit(data[0])
