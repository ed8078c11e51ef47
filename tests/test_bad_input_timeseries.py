"""Bad input to the time-series API fails at the door with a clear error; valid input keeps its results."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

import genad
from genad.metrics import point_adjust, range_precision_recall_f1, ranges, vus
from genad.synthesis import TIMESERIES_ANOMALY_TYPES, inject_anomalies
from genad.timeseries import fill_gaps, fold_back, window_starts, windowed

TINY = {
    "rae_ensemble": dict(epochs=1, min_steps=0, n_members=2, hidden_size=4, window=8, train_stride=4, score_stride=2),
    "dbls_ae": dict(window=8, n_members=2, n_enhancement=20, n_groups=2, group_size=4),
    "omni_anomaly": dict(epochs=1, window=8, hidden_size=8, dense_size=8, flow_layers=2, train_stride=4,
                         score_stride=2),
    "lstm_ad": dict(epochs=1, window=8, hidden_size=8, num_layers=1, train_stride=4, score_stride=2,
                    smoothing_span=5, error_buffer=5),
    "usad": dict(epochs=1, window=8, latent_dim=4, train_stride=4, score_stride=2),
    "tranad": dict(epochs=1, window=8, ff_size=8, train_stride=4, score_stride=2),
    "beatgan": dict(min_steps=2, window=8, hidden_dims=(8,), latent_dim=2, train_stride=4, score_stride=2),
    "mscred": dict(min_steps=2, scales=(2, 4), steps=3, gap=2, window=8, train_stride=4, score_stride=2),
    "deepant": dict(epochs=1, window=8, filters=4, hidden_size=4, train_stride=4, validation_fraction=0.0,
                    patience=None),
    "donut": dict(epochs=1, window=8, hidden_size=4, n_samples=2, train_stride=4, score_stride=2),
    "interfusion": dict(epochs=1, pretrain_epochs=1, window=8, hidden_size=4, dense_size=4, flow_layers=1,
                        flow_hidden=4, train_stride=4, pretrain_stride=4, score_stride=2, mcmc_iterations=1),
    "ganf": dict(epochs=1, dag_rounds=1, dag_steps=1, window=8, hidden_size=4, flow_hidden=4, train_stride=4,
                 score_stride=2, validation_fraction=0.0),
}


def test_every_time_series_model_is_checked_here():
    assert set(TINY) == {info.name for info in genad.list_models(modality="time-series")}


def make(name: str, **params):
    if name == "windowed":
        return windowed("ae", length=8, epochs=1, min_steps=0, random_state=0, **params)
    return genad.create(name, random_state=0, **{**TINY[name], **params})


@pytest.fixture(scope="module")
def series():
    t = np.arange(60)
    noise = np.random.default_rng(0).normal(size=(60, 2))
    return (np.c_[np.sin(t / 3), np.cos(t / 5)] + 0.05 * noise).astype(np.float32)


# --- 1. fit reads what scoring reads -------------------------------------------------------------

def test_fit_reads_lists_frames_and_paths_like_an_array(series, tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame(series, columns=["a", "b"]).to_csv(path, index=False)
    from_csv = pd.read_csv(path).to_numpy()  # the values as the CSV text gives them back
    reference = make("dbls_ae").fit(from_csv).decision_function(from_csv)
    for X in (from_csv.tolist(), pd.DataFrame(from_csv), path, str(path)):
        det = make("dbls_ae").fit(X)
        np.testing.assert_array_equal(det.decision_function(X), reference)


def test_fill_applies_to_a_path_with_gaps(series, tmp_path):
    gappy = series.astype(np.float64)
    gappy[5, 1] = np.nan
    path = tmp_path / "gappy.csv"
    pd.DataFrame(gappy).to_csv(path, index=False)
    det = make("dbls_ae", fill="linear").fit(path)
    np.testing.assert_array_equal(det.decision_function(path), det.decision_function(fill_gaps(gappy, "linear")))
    with pytest.raises(ValueError, match="fill="):
        make("dbls_ae").fit(path)


@pytest.mark.parametrize("bad, error, fragment", [
    (None, TypeError, "X is missing"),
    (np.zeros((2, 40, 2)), ValueError, r"2-D \(T, D\).*shape \(2, 40, 2\)"),
    (np.zeros(40), ValueError, "reshape a single channel"),
    (5, ValueError, "2-D"),
    ([["a", "b"]] * 20, TypeError, "numeric"),
    (np.zeros((40, 2)) + 1j, TypeError, "real-valued"),
])
def test_bad_series_are_named_in_fit_and_scoring(series, bad, error, fragment):
    with pytest.raises(error, match=fragment):
        make("dbls_ae").fit(bad)
    det = make("dbls_ae").fit(series)
    with pytest.raises(error, match=fragment):
        det.decision_function(bad)


# --- 2. parameters that shape the fitted model keep their values -----------------------------------

@pytest.mark.parametrize("name", [*TINY, "windowed"])
def test_window_changed_after_fit_asks_for_a_refit(name, series):
    det = make(name).fit(series)
    scores = det.decision_function(series)
    for window in (16, 4):
        det.set_params(window=window)
        with pytest.raises(ValueError, match=f"fitted with window=8, but window is now {window}.*fit again"):
            det.decision_function(series)
    det.set_params(window=8)
    np.testing.assert_array_equal(det.decision_function(series), scores)


def test_a_refit_adopts_the_new_window_and_a_failed_one_keeps_the_old(series):
    det = make("dbls_ae").fit(series)
    with pytest.raises(ValueError, match="fewer than one window"):
        det.set_params(window=100).fit(series)
    with pytest.raises(ValueError, match="fitted with window=8"):
        det.decision_function(series)
    det.set_params(window=8)
    assert det.decision_function(series).shape == (60,)
    det.set_params(window=12).fit(series)
    assert det.fitted_shape_params_ == {"window": 12} and det.decision_function(series).shape == (60,)


def test_a_detector_saved_before_the_record_existed_still_scores(series):
    det = make("dbls_ae").fit(series)
    scores = det.decision_function(series)
    old = pickle.loads(pickle.dumps(det))
    del old.fitted_shape_params_
    np.testing.assert_array_equal(old.decision_function(series), scores)


# --- 3. windowed() checks its inner model at the door --------------------------------------------

@pytest.mark.parametrize("spec, error, fragment", [
    ("win:ae?epochs=0", ValueError, r"windowed\(ae\).*epochs must be"),
    ("win:ae?bogus=1", TypeError, "bogus"),
    ("win:ae?lr=-1.0", ValueError, "lr must be"),
    ("win:lstm_ad", ValueError, "'lstm_ad' is a time-series model"),
    ("win:memstream", ValueError, "'memstream' is a stream model"),
])
def test_windowed_inner_model_is_checked_before_training(spec, error, fragment, series, monkeypatch):
    from genad.bench.timeseries import build_series_model

    det = build_series_model(spec, 0)
    monkeypatch.setattr(det, "_fit", lambda *a: pytest.fail("training started"))
    with pytest.raises(error, match=fragment):
        det.fit(series)


def test_windowed_refuses_non_tabular_estimators_and_stray_params(series):
    from pyod.models.iforest import IForest

    with pytest.raises(ValueError, match="'lstm_ad' is a time-series model"):
        windowed(genad.create("lstm_ad"), length=8).fit(series)
    with pytest.raises(ValueError, match="time-series model"):
        windowed(windowed("ae"), length=8).fit(series)
    with pytest.raises(ValueError, match="epochs must be"):
        windowed(genad.create("ae", epochs=0), length=8).fit(series)
    with pytest.raises(ValueError, match="model_params apply to a model given by name"):
        windowed(IForest(), length=8, n_estimators=5).fit(series)
    assert windowed(IForest(n_estimators=5, random_state=0), length=8).fit(series).decision_scores_.shape == (60,)


# --- 6. fill= ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fill, error, fragment", [
    (True, TypeError, "fill must be None, 'ffill', 'linear' or a number, got True"),
    (np.bool_(False), TypeError, "fill must be"),
    (float("nan"), ValueError, "fill must be finite"),
    (float("inf"), ValueError, "fill must be finite"),
    (1e39, ValueError, "fill=1e\\+39 is beyond the float32 range"),
    ([0.0], TypeError, "fill must be"),
    ("bfill", ValueError, "fill must be None, 'ffill', 'linear'"),
])
def test_bad_fill_is_named_before_the_data_is_read(fill, error, fragment, series):
    gappy = series.copy()
    gappy[3, 0] = np.nan
    with pytest.raises(error, match=fragment):
        make("dbls_ae", fill=fill).fit(gappy)
    det = make("dbls_ae").fit(series)
    det.set_params(fill=fill)
    with pytest.raises(error, match=fragment):
        det.decision_function(gappy)


def test_a_numpy_number_is_a_fill_value(series):
    gappy = series.copy()
    gappy[3, 0] = np.nan
    a = make("dbls_ae", fill=np.float32(0.5)).fit(gappy).decision_scores_
    np.testing.assert_array_equal(a, make("dbls_ae", fill=0.5).fit(gappy).decision_scores_)


# --- 7. the public window helpers ------------------------------------------------------------------

@pytest.mark.parametrize("call, error, fragment", [
    (lambda: fold_back(np.float64(1.0), 100, 8), ValueError, r"got shape \(\)"),
    (lambda: fold_back(np.ones((93, 8, 2, 1)), 100, 8), ValueError, "window scores must be"),
    (lambda: fold_back(np.full(93, np.nan), 100, 8), ValueError, "93 NaN or infinite"),
    (lambda: fold_back(np.r_[np.ones(92), np.inf], 100, 8), ValueError, "NaN or infinite"),
    (lambda: fold_back(None, 100, 8), TypeError, "scores are missing"),
    (lambda: fold_back(["a"] * 93, 100, 8), TypeError, "scores must be numeric"),
    (lambda: fold_back(np.ones(93), 100.0, 8), TypeError, "n_steps must be an integer"),
    (lambda: window_starts(10.5, 4), TypeError, "n_steps must be an integer"),
    (lambda: window_starts(-5, 4), ValueError, "n_steps must be in"),
    (lambda: fill_gaps(np.array([[np.nan, 1.0]]), [0]), TypeError, "fill must be None, 'ffill', 'linear' or a number"),
    (lambda: fill_gaps(np.array([[np.nan, 1.0]]), True), TypeError, "fill must be"),
    (lambda: fill_gaps(np.array([[np.nan, 1.0]]), float("nan")), ValueError, "fill must be finite"),
    (lambda: fill_gaps(None, 0.0), TypeError, "X is missing"),
    (lambda: fill_gaps(np.zeros((2, 2, 2)), 0.0), ValueError, "1-D .* or 2-D"),
    (lambda: fill_gaps([["a"]], 0.0), TypeError, "X must be numeric"),
])
def test_window_helpers_check_their_input(call, error, fragment):
    with pytest.raises(error, match=fragment):
        call()


def test_window_helpers_keep_their_results():
    np.testing.assert_array_equal(window_starts(np.int64(11), 4, 3), [0, 3, 6, 7])
    np.testing.assert_array_equal(fold_back([0, 1, 2], 10, 4, 3), fold_back(np.array([0.0, 1.0, 2.0]), 10, 4, 3))
    np.testing.assert_array_equal(fill_gaps([1.0, np.nan, 3.0], "linear"), [1.0, 2.0, 3.0])  # 1-D stays 1-D
    np.testing.assert_array_equal(fill_gaps(np.array([[np.nan], [2.0]]), "ffill"), [[2.0], [2.0]])


# --- 4. injected anomalies are real --------------------------------------------------------------

def noise_and_constant(n: int = 300) -> np.ndarray:
    return np.c_[np.random.default_rng(0).normal(size=n), np.full(n, 5.0)]


@pytest.mark.parametrize("kind", TIMESERIES_ANOMALY_TYPES)
@pytest.mark.parametrize("seed", range(4))
def test_every_labelled_step_changes_and_constant_channels_are_left_alone(kind, seed):
    X = noise_and_constant()
    Y, labels = inject_anomalies(X, kind, n=5, length=10, context=5, seed=seed)
    assert labels.sum() == (5 if kind in ("global", "contextual") else 50)
    changed = Y != X
    assert not changed[:, 1].any()
    np.testing.assert_array_equal(changed[:, 0], labels == 1)


@pytest.mark.parametrize("strength, length", [
    (strength, length)
    for strength in (0.3, 0.5, 1.5, 2.0, 2.5, 3.0, 4.0, 7.0, 11.0, 12.0) for length in (2, 5, 10, 15, 50)
    if (strength - 1) % length != 0  # the rest replay at their own frequency: refused below
])
def test_seasonal_changes_every_step_for_every_allowed_strength(strength, length):
    x = np.random.default_rng(1).normal(size=400)
    y, labels = inject_anomalies(x, "seasonal", n=2, length=length, strength=strength, seed=2)
    np.testing.assert_array_equal(y != x, labels == 1)


@pytest.mark.parametrize("strength", [1, 1.0, 11.0, 21])
def test_seasonal_strength_without_a_frequency_change_is_refused(strength):
    with pytest.raises(ValueError, match=f"seasonal strength of {strength!r} .* own frequency"):
        inject_anomalies(np.random.default_rng(0).normal(size=300), "seasonal", length=10, strength=strength)


@pytest.mark.parametrize("kind", TIMESERIES_ANOMALY_TYPES)
def test_a_series_with_no_varying_channel_is_refused(kind):
    with pytest.raises(ValueError, match="every channel of the series is constant"):
        inject_anomalies(np.full((300, 2), 5.0), kind, length=10, context=5)


def test_a_seasonal_segment_goes_to_a_channel_that_varies_there_or_is_refused():
    x = np.random.default_rng(0).normal(size=300)
    flat_start = x.copy()
    flat_start[:150] = 0.0
    X = np.c_[flat_start, x]
    for seed in range(6):
        Y, labels = inject_anomalies(X, "seasonal", n=3, length=10, seed=seed)
        changed = Y != X
        np.testing.assert_array_equal(changed.any(axis=1), labels == 1)
        assert not changed[:150, 0].any()  # a replay of a (partly) flat stretch goes to channel 1 instead
    with pytest.raises(ValueError, match=r"seasonal anomaly at steps \d+\.\.\d+ would change nothing"):
        for seed in range(20):  # some seed places a segment inside the flat stretch
            inject_anomalies(flat_start, "seasonal", n=3, length=10, seed=seed)


def test_a_point_that_would_land_on_its_own_value_goes_the_other_way():
    x = np.tile([0.0, 1.0], 150)  # mean 0.5 and std 0.5: mean +- 1 std is 0 or 1, a value of the series
    for seed in range(8):
        y, labels = inject_anomalies(x, "global", n=4, strength=1.0, seed=seed)
        np.testing.assert_array_equal(y != x, labels == 1)
        assert set(y[labels == 1]) <= {0.0, 1.0}


def test_a_change_below_float_resolution_is_named():
    x = np.full(200, 1e9)
    x[0] += 1e-6  # the channel varies, but 3 * 1e-3 of its spread is lost at the level of 1e9
    with pytest.raises(ValueError, match="contextual anomaly at step .* would leave the series unchanged"):
        inject_anomalies(x, "contextual", n=1, context=5, seed=0)


def test_seeded_draws_are_unchanged_when_every_channel_varies():
    rng = np.random.default_rng(0)
    X = np.c_[rng.normal(size=300), np.sin(np.arange(300) / 7), rng.normal(size=300) * 3]
    expected = {"global": ([38, 238, 296], [0, 1]), "contextual": ([33, 254, 269], [1]),
                "shapelet": ([26, 227, 260], [1, 2])}  # as drawn before the channel draw skipped constant ones
    for kind, (starts, channels) in expected.items():
        Y, labels = inject_anomalies(X, kind, n=3, length=10, context=5, seed=11)
        assert ranges(labels)[:, 0].tolist() == starts
        assert sorted(set(np.nonzero(Y != X)[1].tolist())) == channels
    Y, labels = inject_anomalies(X, "global", n=3, seed=11)
    for t in np.flatnonzero(labels):
        c = int(np.flatnonzero(Y[t] != X[t])[0])
        assert abs(Y[t, c] - X[:, c].mean()) == pytest.approx(4.0 * X[:, c].std())


# --- 5. metrics take one value per step -------------------------------------------------------------

LABELS = np.r_[np.zeros(40), np.ones(10), np.zeros(50)].astype(int)
SCORES = np.random.default_rng(0).random(100)


@pytest.mark.parametrize("call, fragment", [
    (lambda: vus(LABELS.reshape(50, 2), SCORES, max_buffer=2), r"labels must be 1-D.*\(50, 2\)"),
    (lambda: vus(LABELS, np.c_[SCORES, SCORES], max_buffer=2), r"scores must be 1-D.*\(100, 2\)"),
    (lambda: vus(LABELS[None], SCORES, max_buffer=2), r"labels must be 1-D.*\(1, 100\)"),
    (lambda: range_precision_recall_f1(LABELS.reshape(50, 2), LABELS), r"labels must be 1-D"),
    (lambda: range_precision_recall_f1(LABELS, LABELS.reshape(10, 10)), r"predictions must be 1-D"),
    (lambda: point_adjust(LABELS, LABELS.reshape(2, 5, 10)), r"predictions must be 1-D"),
    (lambda: ranges(np.ones((3, 3))), r"values must be 1-D"),
    (lambda: vus(1, 0.5), r"labels must be 1-D.*shape \(\)"),
])
def test_metrics_refuse_arrays_that_are_not_one_value_per_step(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


def test_metrics_accept_columns_with_the_same_result():
    predictions = (SCORES > 0.7).astype(int)
    assert vus(LABELS[:, None], SCORES[:, None], max_buffer=3) == vus(LABELS, SCORES, max_buffer=3)
    assert vus(pd.Series(LABELS), pd.Series(SCORES), max_buffer=3) == vus(LABELS, SCORES, max_buffer=3)
    assert (range_precision_recall_f1(LABELS[:, None], predictions[:, None])
            == range_precision_recall_f1(LABELS, predictions))


def test_a_time_stamp_column_is_named_with_the_way_to_keep_it(series):
    frame = pd.DataFrame(series, columns=[f"c{i}" for i in range(series.shape[1])])
    frame.insert(0, "timestamp", pd.date_range("2024-01-01", periods=len(frame), freq="min"))
    with pytest.raises(TypeError, match=r"time stamps \['timestamp'\].*set_index\('timestamp'\)"):
        make("dbls_ae").fit(frame)
    assert make("dbls_ae").fit(frame.set_index("timestamp")).decision_function(series).shape == (len(series),)
