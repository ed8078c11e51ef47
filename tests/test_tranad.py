"""TranAD (Tuli et al., PVLDB 2022): its two phases, its evolving adversarial objective, its score, and the contract."""
import numpy as np
import pytest
import torch

import genad
from genad.metrics import auroc
from genad.synthesis import inject_anomalies
from genad.timeseries.windows import sliding_windows
from series_data import check_registered, check_reproducible_and_saved, check_step_scores, periodic_series

# Small but trained: the paper's 5 epochs (its weight schedule epsilon^-n), in 8-window batches at a larger rate.
FAST = dict(window=8, train_stride=2, epochs=5, batch_size=8, lr=3e-3)


@pytest.fixture(scope="module")
def data():
    """Two 40-step stretches replayed 3.5 times faster: in the normal range, only the dynamics change."""
    test, labels = inject_anomalies(periodic_series(seed=1), "seasonal", n=2, length=40, strength=3.5, seed=3)
    return periodic_series(seed=0), test.astype(np.float32), labels


@pytest.fixture(scope="module")
def fitted(data):
    return genad.create("tranad", random_state=0, **FAST).fit(data[0])


def test_registered_as_an_adversarial_time_series_model():
    check_registered("tranad", "adversarial", "PVLDB", 2022, {"explain", "restore"})


def test_scores_rank_the_planted_anomalies_high(fitted, data):
    train, test, labels = data
    scores = check_step_scores(fitted, train, test)
    baseline = auroc(labels, np.abs((test - train.mean(0)) / train.std(0)).max(1))  # per-step z-score: 0.56
    assert auroc(labels, scores) >= baseline + 0.1  # 0.71 here (seed 1: 0.70)


def test_two_phases_phase_two_is_conditioned_on_the_focus_score(fitted, data):
    net = fitted.module_.eval()
    w = net.scale(torch.as_tensor(sliding_windows(data[1], 8, 5)[:16].copy()))
    with torch.no_grad():
        o1, o2, o2_hat = net(w)
        torch.testing.assert_close(o1, net.decoder1(net.encode(w, torch.zeros_like(w))))
        torch.testing.assert_close(o2, net.decoder2(net.encode(w, torch.zeros_like(w))))
        torch.testing.assert_close(o2_hat, net.decoder2(net.encode(w, (o1 - w).pow(2))))
        assert not torch.allclose(o2_hat, o2)  # the focus score changes decoder 2's output
    assert o1.shape == w.shape and (o1 > 0).all() and (o1 < 1).all()  # sigmoid outputs on min-max scaled input


def test_evolving_weight_follows_the_epochs(data):
    det = genad.create("tranad", random_state=0, **{**FAST, "epochs": 3})
    seen = []
    original = type(det)._loss

    def recording(self, batch):
        seen.append(self.weight(self._epoch))
        return original(self, batch)

    det._loss = recording.__get__(det)
    det.fit(data[0])
    assert sorted(set(seen), reverse=True) == pytest.approx([0.9, 0.81, 0.729])  # epsilon^-n, n = 1, 2, 3
    assert seen == sorted(seen, reverse=True)  # each epoch's batches share one weight, falling with the epoch
    assert not hasattr(det, "_epoch") and not hasattr(det, "_adversary_optimizer")  # training state not kept


def test_adversarial_step_decoder_two_maximises_the_phase_two_error(data):
    """With w = epsilon^-n near 0, L2 is -||Ô2 - W||: decoder 2's own step raises its phase-2 error, and the
    shared loop's parameters (encoder, window encoder, decoder 1) exclude decoder 2."""
    det = genad.create("tranad", random_state=0, **{**FAST, "epochs": 1, "dropout": 0.0, "epsilon": 1e6})
    det.fit(data[0])
    net = det.module_
    batch = torch.as_tensor(sliding_windows(data[0], 8, 4)[:32].copy())
    w = net.scale(batch)

    def phase_two_error():
        with torch.no_grad():
            return (net(w)[2] - w).pow(2).mean().item()

    det._adversary_optimizer = torch.optim.SGD(net.decoder2.parameters(), lr=0.5)
    det._epoch = 0
    before, others = phase_two_error(), [p.detach().clone() for p in net.decoder1.parameters()]
    det._loss(batch)
    assert phase_two_error() > before
    assert all(torch.equal(a, b) for a, b in zip(others, net.decoder1.parameters()))  # only decoder 2 stepped


def test_score_is_half_each_phase_at_the_last_position_of_the_window_ending_there(fitted, data):
    test = data[1]
    windows = torch.as_tensor(sliding_windows(test, 8, 1).copy())
    net = fitted.module_.eval()
    with torch.no_grad():
        w = net.scale(windows)
        o1, _, o2_hat = net(w)
        expected = 0.5 * (o1 - w).pow(2).mean(-1) + 0.5 * (o2_hat - w).pow(2).mean(-1)
    scores = fitted.decision_function(test)
    np.testing.assert_allclose(scores[7:], expected[:, -1].numpy(), rtol=1e-5)
    np.testing.assert_allclose(scores[:7], expected[0, :7].numpy(), rtol=1e-5)  # first steps: the first window


def test_min_max_scaling_inside_and_restore_in_input_units(data):
    train = data[0].copy()
    train[:, 1] = 4.0  # a constant channel keeps range 1
    det = genad.create("tranad", random_state=0, **{**FAST, "epochs": 1}).fit(train)
    np.testing.assert_allclose(det.lower_, train.min(0))
    np.testing.assert_allclose(det.span_, [np.ptp(train[:, 0]), 1.0, np.ptp(train[:, 2])], rtol=1e-6)
    restored = det.restore(train)
    assert restored.shape == train.shape and np.isfinite(restored).all()
    # the decoders' sigmoid maps back into [lower, lower + span]: the training range, [4, 5] for the constant one
    assert (restored >= det.lower_ - 1e-4).all() and (restored <= det.lower_ + det.span_ + 1e-4).all()
    contributions = det.explain(train)
    assert (contributions >= 0).all()
    # each channel's term of the score (the paper's per-dimension score): together they are the score
    np.testing.assert_allclose(contributions.sum(1), det.decision_function(train), rtol=1e-5, atol=1e-7)


def test_same_seed_same_scores_save_load_and_clone(fitted, data, tmp_path):
    check_reproducible_and_saved("tranad", FAST, fitted, data[0], data[1], tmp_path)


@pytest.mark.parametrize("bad, error", [
    ({"n_heads": 0}, ValueError), ({"n_heads": 4}, ValueError),  # 4 does not divide d_model = 2 x 3
    ({"n_heads": 1.5}, TypeError), ({"ff_size": 0}, ValueError), ({"dropout": 1.0}, ValueError),
    ({"epsilon": 0.5}, ValueError), ({"epsilon": "x"}, TypeError), ({"validation_fraction": 0.2}, ValueError),
    ({"window": 0}, ValueError), ({"score_stride": 10_000}, ValueError),
])
def test_bad_parameters_are_refused(bad, error, data):
    with pytest.raises(error):
        genad.create("tranad", **{**FAST, "epochs": 1, **bad}).fit(data[0])


def test_bad_series_are_refused(fitted, data):
    test = data[1]
    with pytest.raises(ValueError, match="fewer than one window"):
        fitted.decision_function(test[:3])
    with pytest.raises(ValueError, match="features"):
        fitted.decision_function(test[:, :2])
    gappy = test.copy()
    gappy[5, 0] = np.nan
    with pytest.raises(ValueError, match="fill="):
        fitted.decision_function(gappy)
