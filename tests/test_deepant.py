"""DeepAnT (Munir et al., IEEE Access 2019): the detector contract on (T, D) series, and what makes DeepAnT
itself: a CNN that forecasts each step from the steps before it (never from the step itself), trained on the
mean absolute error, and a score that is the Euclidean distance between the observed and the forecast step."""
import numpy as np
import pytest
import torch

import genad
from genad.metrics import auroc
from series_data import check_registered, check_reproducible_and_saved, check_step_scores, spiked_series

FAST = dict(window=16, epochs=15, batch_size=32, validation_fraction=0.0, patience=None)


@pytest.fixture(scope="module")
def data():
    """Twelve single-step spikes of 1.5 on one channel. Four of them stay inside the series' range, so a
    per-value z-score ranks them at 0.80 AUROC and an untrained network at 0.76; a forecaster that knows the
    series' course tells them all."""
    return spiked_series()


@pytest.fixture(scope="module")
def fitted(data):
    return genad.create("deepant", random_state=0, **FAST).fit(data[0])


def forecasts(det, X):
    """The network's forecast of each step from the ``window - 1`` steps before it."""
    windows = torch.as_tensor(det._windows(X, 1))
    with torch.no_grad():
        return det.module_(windows[:, :-1]).numpy()


# --- the detector contract ------------------------------------------------------------------------------
def test_registered_with_its_paper():
    check_registered("deepant", "density-explicit", "IEEE Access", 2019, {"explain", "restore"})


def test_scores_one_per_step_and_planted_spikes_rank_high(fitted, data):
    train, test, labels = data
    assert auroc(labels, check_step_scores(fitted, train, test)) >= 0.95


def test_same_seed_same_scores_clone_save_load(fitted, data, tmp_path):
    check_reproducible_and_saved("deepant", FAST, fitted, data[0], data[1], tmp_path)


# --- what makes DeepAnT itself -------------------------------------------------------------------------
def test_score_is_the_euclidean_distance_to_the_forecast_of_each_step(fitted, data):
    _, test, _ = data
    history = FAST["window"] - 1
    distances = np.linalg.norm(test[history:] - forecasts(fitted, test), axis=1)
    scores = fitted.decision_function(test)
    np.testing.assert_allclose(scores[history:], distances, rtol=1e-5, atol=1e-6)
    # the first steps have no history of their own: they share the first forecast's distance
    np.testing.assert_allclose(scores[:history], distances[0], rtol=1e-5)


def test_forecast_reads_only_the_history(fitted, data):
    """Changing the forecast step itself leaves its forecast unchanged: DeepAnT predicts, it does not
    reconstruct (an autoencoder's output would follow the change)."""
    _, test, _ = data
    changed = test.copy()
    changed[100] += 5.0
    before, after = forecasts(fitted, test), forecasts(fitted, changed)
    forecast_of_100 = 100 - (FAST["window"] - 1)
    np.testing.assert_array_equal(before[forecast_of_100], after[forecast_of_100])
    assert not np.allclose(before[forecast_of_100 + 1], after[forecast_of_100 + 1])  # it is history there


def test_training_lowers_the_mean_absolute_forecast_error(data):
    train = data[0]
    untrained = genad.create("deepant", random_state=0, **{**FAST, "epochs": 1, "lr": 1e-9}).fit(train)
    trained = genad.create("deepant", random_state=0, **FAST).fit(train)
    history = FAST["window"] - 1
    errors = [np.abs(train[history:] - forecasts(det, train)).mean() for det in (untrained, trained)]
    assert errors[1] < 0.5 * errors[0]
    assert errors[1] < 0.1  # the noise alone has a mean absolute value of 0.04
    with torch.no_grad():  # the training loss is that error (mean absolute, not squared), here without dropout
        loss = trained._loss(torch.as_tensor(trained._windows(train, 1))).item()
    assert loss == pytest.approx(errors[1], rel=1e-5)


def test_restore_puts_each_forecast_in_place_of_its_step(fitted, data):
    _, test, _ = data
    history = FAST["window"] - 1
    restored, contributions = fitted.restore(test), fitted.explain(test)
    assert restored.shape == test.shape
    np.testing.assert_allclose(restored[history:], forecasts(fitted, test), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(restored[:history], test[:history])  # no forecast there
    np.testing.assert_allclose(contributions, (test - restored) ** 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad, message", [
    ({"window": 7}, "too short"), ({"kernel_size": 0}, "kernel_size"), ({"filters": 0}, "filters"),
    ({"dropout": 1.0}, "dropout"), ({"hidden_size": 0}, "hidden_size"),
])
def test_bad_parameters_are_refused_at_fit(bad, message, data):
    with pytest.raises(ValueError, match=message):
        genad.create("deepant", **{**FAST, **bad}).fit(data[0])


def test_bad_series_are_refused_with_the_problem_named(fitted, data):
    train, test, _ = data
    with pytest.raises(ValueError, match="fewer than one window"):
        fitted.decision_function(test[:10])
    with pytest.raises(ValueError, match="features"):
        fitted.decision_function(test[:, :2])
    gappy = test.copy()
    gappy[3, 0] = np.nan
    with pytest.raises(ValueError, match="fill="):
        fitted.decision_function(gappy)
    with pytest.raises(ValueError, match="fewer than one window"):
        genad.create("deepant", **FAST).fit(train[:10])
