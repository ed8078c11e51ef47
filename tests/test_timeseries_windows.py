"""Sliding windows, fold-back to time steps, NaN gaps and the windowed adapter for tabular detectors."""
import numpy as np
import pytest
from sklearn.base import clone

import genad
from genad.timeseries import fill_gaps, fold_back, sliding_windows, window_starts, windowed


def test_windows_cover_the_whole_series():
    X = np.arange(10.0)[:, None]
    np.testing.assert_array_equal(window_starts(10, 4, 3), [0, 3, 6])
    np.testing.assert_array_equal(window_starts(11, 4, 3), [0, 3, 6, 7])  # the last window ends at the end
    windows = sliding_windows(X, 4, 3)
    assert windows.shape == (3, 4, 1)
    np.testing.assert_array_equal(windows[1, :, 0], [3, 4, 5, 6])


def test_fold_back_mean_and_last():
    # window scores (N,) spread over their steps and averaged where windows overlap
    np.testing.assert_allclose(fold_back(np.array([0.0, 1.0, 2.0]), 10, 4, 3),
                               [0, 0, 0, 0.5, 1, 1, 1.5, 2, 2, 2])
    X = np.arange(10.0)[:, None]
    per_position = sliding_windows(X, 4, 1)[:, :, 0]  # each position holds its own step index
    np.testing.assert_allclose(fold_back(per_position, 10, 4, 1, how="last"), np.arange(10))
    np.testing.assert_allclose(fold_back(sliding_windows(X, 4, 2), 10, 4, 2), X)  # (N, L, D) -> (T, D)


def test_last_takes_the_window_ending_at_each_step():
    per_position = np.tile(np.arange(4.0), (7, 1))  # position index in each window of 10 steps
    steps = fold_back(per_position, 10, 4, 1, how="last")
    np.testing.assert_array_equal(steps, [0, 1, 2, 3, 3, 3, 3, 3, 3, 3])


def test_short_series_and_bad_shapes_are_errors():
    with pytest.raises(ValueError, match="fewer than one window"):
        sliding_windows(np.zeros((3, 2)), 4)
    with pytest.raises(ValueError, match="window scores"):
        fold_back(np.zeros(2), 10, 4, 3)
    with pytest.raises(ValueError, match="how"):
        fold_back(np.zeros(3), 10, 4, 3, how="max")


def test_fill_gaps():
    X = np.array([[1.0, np.nan], [np.nan, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match="fill="):
        fill_gaps(X, None)
    np.testing.assert_allclose(fill_gaps(X, "ffill"), [[1, 2], [1, 2], [3, 4]])
    np.testing.assert_allclose(fill_gaps(X, "linear"), [[1, 2], [2, 2], [3, 4]])
    np.testing.assert_allclose(fill_gaps(X, 0.0), [[1, 0], [0, 2], [3, 4]])


def sine_series(n=600, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (np.c_[np.sin(t / 8), np.cos(t / 5)] + 0.05 * rng.normal(size=(n, 2))).astype(np.float32)


def test_windowed_adapter_wraps_any_tabular_detector():
    from pyod.models.iforest import IForest

    X = sine_series()
    test = X.copy()
    test[300:305, 0] += 4.0
    det = windowed("ae", length=8, train_stride=2, epochs=3, random_state=0).fit(X)
    scores = det.decision_function(test)
    assert scores.shape == (600,) and det.decision_scores_.shape == (600,)
    assert scores[300:305].mean() > np.quantile(scores, 0.95)
    assert clone(det).get_params() == det.get_params()
    baseline = windowed(IForest(n_estimators=20, random_state=0), length=8).fit(X)
    assert baseline.decision_function(test[:50]).shape == (50,)
    # restore and explain come from the inner model's, per window, averaged over the windows of each step
    restored, contributions = det.restore(test), det.explain(test)
    assert restored.shape == contributions.shape == (600, 2)
    assert np.abs(restored[300:305, 0] - X[300:305, 0]).mean() < np.abs(test[300:305, 0] - X[300:305, 0]).mean()
    assert (contributions[300:305].argmax(1) == 0).all()  # the shifted channel is the one to blame
    for capability in (baseline.restore, baseline.explain):
        with pytest.raises(NotImplementedError, match=r"windowed\(IForest\)"):
            capability(test)


def test_windowed_bad_inputs_name_the_problem(tmp_path):
    X = sine_series()
    det = windowed("ae", length=8, epochs=1, random_state=0).fit(X)
    gappy = X.copy()
    gappy[10, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        det.decision_function(gappy)
    with pytest.raises(ValueError, match="fewer than one window"):
        det.decision_function(X[:5])
    with pytest.raises(ValueError, match="features"):
        det.decision_function(X[:, :1])
    with pytest.raises(ValueError, match="fewer than one window"):
        windowed("ae", length=8).fit(X[:5])
    with pytest.raises(ValueError, match="unknown model"):
        windowed("no_such_model").fit(X)
    filled = windowed("ae", length=8, epochs=1, fill="ffill", random_state=0).fit(gappy)
    assert np.isfinite(filled.decision_function(gappy)).all()
    det.save(tmp_path / "w.genad")
    np.testing.assert_array_equal(genad.load(tmp_path / "w.genad").decision_function(X), det.decision_function(X))


def test_windowed_training_scores_keep_the_inner_models_own():
    """The fitted windows keep the inner model's training scores: DTE-NP leaves each out of its neighbours, so the
    threshold flags about ``contamination`` of a fresh normal series (0.19 when the fitted windows were re-scored)."""
    rng = np.random.default_rng(0)

    def waves(n):
        t = np.arange(n)
        return np.c_[np.sin(t / 5), np.cos(t / 7)] + 0.05 * rng.normal(size=(n, 2))

    train = waves(400)
    det = windowed("dte", length=8, kind="nonparametric", contamination=0.1, random_state=0).fit(train)
    assert 0.07 < det.predict(waves(2000)).mean() < 0.13
    assert (det.decision_scores_ > det.decision_function(train)).mean() > 0.5  # re-scored, windows see themselves
    plain = windowed("ae", length=8, epochs=1, min_steps=0, random_state=0).fit(train)  # its own scores: a re-score
    np.testing.assert_allclose(plain.decision_scores_, plain.decision_function(train), rtol=1e-6)
