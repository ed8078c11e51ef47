"""USAD (Audibert et al., KDD 2020): the detector contract on (T, D) series, and what makes USAD itself: two
autoencoders sharing an encoder, the epoch-weighted two-phase losses, each with its own optimizer, and the
score that mixes AE1's error with AE2's error on AE1's output."""
import copy

import numpy as np
import pytest
import torch
from sklearn.base import clone

import genad
from genad.metrics import auroc
from genad.models.timeseries.usad import USAD
from genad.training import adam, seeded, train_module
from series_data import check_registered, check_reproducible_and_saved, check_step_scores, periodic_series

FAST = dict(window=8, train_stride=1, latent_dim=8, epochs=20, batch_size=32)


def series(n=500, seed=0):
    return periodic_series(n, seed, periods=(6, 6, 9))


@pytest.fixture(scope="module")
def data():
    """Two 30-step level shifts of channel 1, beyond its training range (USAD's min-max scaling puts them
    above 1, where the sigmoid decoders cannot follow)."""
    train, test = series(seed=0), series(seed=1)
    labels = np.zeros(len(test), dtype=int)
    for start in (150, 350):
        test[start:start + 30, 1] += 2.5
        labels[start:start + 30] = 1
    return train, test, labels


@pytest.fixture(scope="module")
def fitted(data):
    return genad.create("usad", random_state=0, **FAST).fit(data[0])


# --- the detector contract ------------------------------------------------------------------------------
def test_registered_with_its_paper():
    check_registered("usad", "adversarial", "KDD", 2020, {"explain", "restore"})


def test_scores_one_per_step_and_planted_anomalies_rank_high(fitted, data):
    train, test, labels = data
    assert auroc(labels, check_step_scores(fitted, train, test)) >= 0.9


def test_same_seed_same_scores_clone_save_load(fitted, data, tmp_path):
    check_reproducible_and_saved("usad", FAST, fitted, data[0], data[1], tmp_path)
    assert not hasattr(fitted, "_ae1_optimizer") and not hasattr(fitted, "_epoch")  # training state is dropped


def test_restore_is_ae1_folded_back_in_the_input_scale(fitted, data):
    train, test, _ = data
    restored, contributions = fitted.restore(test), fitted.explain(test)
    assert restored.shape == test.shape and contributions.shape == test.shape
    np.testing.assert_allclose(contributions, (test - restored) ** 2, rtol=1e-5, atol=1e-6)
    # the decoders end in a sigmoid on min-max scaled windows: a restoration stays inside the training range
    assert (restored >= train.min(0) - 1e-4).all() and (restored <= train.max(0) + 1e-4).all()
    windows = fitted._windows(train, 1)
    assert windows.min() >= 0 and windows.max() <= 1 + 1e-6
    with torch.no_grad():
        ae1 = fitted.module_.ae1(torch.as_tensor(fitted._windows(test, 1)).flatten(1)).view(-1, 8, 3).numpy()
    folded = fitted._to_steps(ae1, len(test)) * fitted.scale_span_ + fitted.scale_low_
    np.testing.assert_allclose(restored, folded, rtol=1e-5, atol=1e-5)


def test_bad_series_and_parameters_are_rejected(fitted, data):
    train, test, _ = data
    with pytest.raises(ValueError, match="fewer than one window"):
        fitted.decision_function(test[:5])
    with pytest.raises(ValueError, match="features"):
        fitted.decision_function(test[:, :2])
    gappy = test.copy()
    gappy[3, 0] = np.nan
    with pytest.raises(ValueError, match="fill="):
        fitted.decision_function(gappy)
    for bad in ({"latent_dim": 0}, {"alpha": 1.5}, {"alpha": "half"}, {"updates": "other"}, {"window": 0},
                {"validation_fraction": 0.2}, {"score_stride": 9}):
        with pytest.raises((ValueError, TypeError)):
            genad.create("usad", **{**FAST, **bad}).fit(train)
    changed = copy.deepcopy(fitted).set_params(alpha=0.9)
    with pytest.raises(ValueError, match="alpha"):  # the threshold came from training scores with alpha=0.5
        changed.decision_function(test)


# --- what makes USAD itself -----------------------------------------------------------------------------
def test_architecture_halves_then_quarters_to_the_latent_code(fitted):
    widths = lambda seq: [m.out_features for m in seq if isinstance(m, torch.nn.Linear)]  # noqa: E731
    net = fitted.module_
    assert widths(net.encoder) == [12, 6, 8]  # 8 steps x 3 channels = 24 inputs
    assert widths(net.decoder1) == widths(net.decoder2) == [6, 12, 24]
    assert isinstance(net.encoder[-1], torch.nn.ReLU) and isinstance(net.decoder1[-1], torch.nn.Sigmoid)


def test_losses_weight_reconstruction_by_one_over_the_epoch(fitted, data):
    w = torch.as_tensor(fitted._windows(data[1], 1)).flatten(1)
    net = fitted.module_
    with torch.no_grad():
        w1 = net.ae1(w)
        e1, e2, e3 = [(w - r).pow(2).mean() for r in (w1, net.ae2(w), net.ae2(w1))]
        for n in (1, 4):
            fitted._epoch = n
            l1, l2 = fitted._ae1_loss(w), fitted._ae2_loss(w)
            torch.testing.assert_close(l1, e1 / n + (1 - 1 / n) * e3)
            torch.testing.assert_close(l2, e2 / n - (1 - 1 / n) * e3)
    del fitted._epoch


def test_score_mixes_ae1_error_and_ae2_error_on_ae1_output(fitted, data):
    train, test, _ = data
    w = torch.as_tensor(fitted._windows(test, 1))
    with torch.no_grad():
        flat = w.flatten(1)
        w1 = fitted.module_.ae1(flat)
        e1, e3 = (flat - w1).pow(2).mean(1), (flat - fitted.module_.ae2(w1)).pow(2).mean(1)
        torch.testing.assert_close(fitted._score_batch(w), 0.5 * e1 + 0.5 * e3)
    steps = fitted._to_steps((0.5 * e1 + 0.5 * e3).double().numpy(), len(test))  # each step: mean of its windows
    np.testing.assert_allclose(fitted.decision_function(test), steps, rtol=1e-5)
    only_ae1 = clone(fitted).set_params(alpha=1.0).fit(train)
    with torch.no_grad():
        flat_ae1 = only_ae1.module_.ae1(flat)
        torch.testing.assert_close(only_ae1._score_batch(w), (flat - flat_ae1).pow(2).mean(1))


def _literal_training(mode: str, windows: torch.Tensor, net: torch.nn.Module, epochs: int) -> None:
    """Algorithm 1 of the paper (``"paper"``: each loss's own gradient) or the authors' loop (``"reference"``:
    each optimizer zeroes its gradients after its own step), one batch of all windows per epoch."""
    o1 = adam([*net.encoder.parameters(), *net.decoder1.parameters()])
    o2 = adam([*net.encoder.parameters(), *net.decoder2.parameters()])

    def losses(w, n):
        z = net.encoder(w)
        w1, w2 = net.decoder1(z), net.decoder2(z)
        w3 = net.decoder2(net.encoder(w1))
        return ((w - w1) ** 2).mean() / n + (1 - 1 / n) * ((w - w3) ** 2).mean(), \
            ((w - w2) ** 2).mean() / n - (1 - 1 / n) * ((w - w3) ** 2).mean()

    for epoch in range(epochs):
        n = epoch + 1
        if mode == "paper":
            o1.zero_grad()
            losses(windows, n)[0].backward()
            o1.step()
            o2.zero_grad()
            losses(windows, n)[1].backward()
            o2.step()
        else:
            losses(windows, n)[0].backward()
            o1.step()
            o1.zero_grad()
            losses(windows, n)[1].backward()
            o2.step()
            o2.zero_grad()


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_training_matches_the_literal_algorithm(mode):
    """The shared loop, with AE1's step inside the loss, trains exactly as the written-out loop: the paper's
    separate gradients, or the authors' code, where D2's step also carries L_AE1's gradient and D1's step the
    previous batch's L_AE2 gradient."""
    train = series(n=80)[:, :2]
    params = dict(window=4, train_stride=1, latent_dim=3, epochs=4, batch_size=1000, updates=mode, random_state=0)
    det = USAD(**params).fit(train)
    with seeded(0):  # the fit builds its network first thing inside the same seeded block
        net = det._build_module(2)
    windows = torch.as_tensor(det._windows(train, 1)).flatten(1)
    _literal_training(mode, windows, net, epochs=4)
    for (name, trained), literal in zip(det.module_.state_dict().items(), net.state_dict().values()):
        torch.testing.assert_close(trained, literal, rtol=1e-4, atol=1e-5, msg=name)
    other = USAD(**{**params, "updates": "reference" if mode == "paper" else "paper"}).fit(train)
    assert not torch.allclose(other.module_.decoder2[0].weight, det.module_.decoder2[0].weight)


def test_each_step_moves_only_its_own_autoencoder(data):
    # seeded: about one unseeded start in 30 begins with every latent ReLU dead, and then no step moves the encoder
    det = USAD(**{**FAST, "epochs": 2, "random_state": 0})
    moved = []
    real_step = det._ae1_step

    def spy(loss):
        before = {k: v.clone() for k, v in det.module_.state_dict().items()}
        carried = real_step(loss)
        moved.append({k.split(".")[0] for k, v in det.module_.state_dict().items() if not torch.equal(v, before[k])})
        return carried

    det._ae1_step = spy
    det.fit(data[0])
    assert moved and all(parts == {"encoder", "decoder1"} for parts in moved)  # AE1's step leaves D2 alone


def test_ae2_learns_to_reconstruct_ae1_outputs_badly(fitted, data):
    """Phase 2: AE2 is trained to tell real windows from AE1's reconstructions by failing on the latter."""
    w = torch.as_tensor(fitted._windows(data[0], 1)).flatten(1)
    with torch.no_grad():
        w1 = fitted.module_.ae1(w)
        on_reconstructions = (w - fitted.module_.ae2(w1)).pow(2).mean()
        of_ae1 = (w - w1).pow(2).mean()
    assert on_reconstructions > of_ae1
    assert fitted.history_["loss"][0] > 0 > fitted.history_["loss"][-1]  # L_AE2 turns negative as 1/n fades


def test_shared_loop_reports_each_epoch_to_on_epoch():
    """The shared loop's hook, which gives USAD its epoch n: called once per epoch, 0-based, also for the
    epochs ``min_steps`` adds."""
    net = torch.nn.Linear(2, 1)
    seen = []
    data = torch.randn(10, 2)
    train_module(net, lambda batch: net(batch).pow(2).mean(), data, epochs=2, batch_size=10, min_steps=5,
                 on_epoch=seen.append)
    assert seen == [0, 1, 2, 3, 4]
