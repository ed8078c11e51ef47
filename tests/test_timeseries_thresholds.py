"""Thresholds for streams of scores: online POT (SPOT, DSPOT) and the nonparametric dynamic threshold."""
import numpy as np
import pandas as pd
import pytest

from genad.thresholds import POTThreshold
from genad.timeseries.thresholds import DSPOT, SPOT, DynamicThreshold


def test_spot_flags_extremes_and_adapts_online():
    rng = np.random.default_rng(0)
    calibration = rng.exponential(size=5000)
    spot = SPOT(risk=1e-3).fit(calibration)
    stream = rng.exponential(size=3000)
    stream[[500, 2000]] = 40.0
    alarms = spot.predict(stream)
    assert alarms[[500, 2000]].all()
    assert alarms.mean() < 0.01  # about risk-level false alarms on exponential data
    assert spot.thresholds_.shape == (3000,) and np.ptp(spot.thresholds_) > 0  # updated by new peaks
    assert spot.thresholds_[0] == pytest.approx(-np.log(1e-3), rel=0.25)  # true 0.999 quantile = 6.9


def test_dspot_follows_a_drifting_level_where_a_fixed_threshold_floods():
    rng = np.random.default_rng(0)
    scores = rng.exponential(size=6000) + np.linspace(0.0, 12.0, 6000)  # the level drifts up by 12
    spikes = [2000, 4000, 5500]
    scores[spikes] += 15.0
    stream = scores[1000:]
    dspot = DSPOT(depth=50).fit(scores[:1000])
    alarms = dspot.predict(stream)
    assert alarms[np.subtract(spikes, 1000)].all()
    assert alarms.mean() < 0.005  # a threshold blind to the drift flags most of the stream:
    assert POTThreshold().fit(scores[:1000]).predict(stream).mean() > 0.3
    # thresholds on the scores' own scale: they rise with the level
    assert dspot.thresholds_[-1] - dspot.thresholds_[0] == pytest.approx(10.0, abs=1.5)  # z_q moves a little too


def test_dspot_keeps_alarms_out_of_its_window():
    dspot = DSPOT(depth=5).fit(np.random.default_rng(1).exponential(size=500))
    window = list(dspot.window_)
    assert dspot.predict([1e6])[0] == 1 and list(dspot.window_) == window  # the alarm left the level alone
    assert dspot.predict([0.5])[0] == 0 and list(dspot.window_) == window[1:] + [0.5]


def test_dynamic_threshold_finds_error_bursts_and_prunes_noise():
    rng = np.random.default_rng(1)
    errors = np.abs(rng.normal(size=3000)) * 0.1
    errors[1000:1030] += 2.0  # a burst of large errors
    flags = DynamicThreshold(window=3000, step=3000, buffer=20).predict(errors)
    assert flags[1000:1030].all()
    assert flags[:980].sum() + flags[1050:].sum() == 0  # nothing beyond the burst and its buffer


def test_dynamic_threshold_flags_nothing_on_pure_noise_after_pruning():
    errors = np.abs(np.random.default_rng(2).normal(size=2000))
    assert DynamicThreshold(window=2000, step=2000).predict(errors).mean() < 0.01


def test_bad_threshold_parameters():
    with pytest.raises(ValueError):
        DynamicThreshold(window=1)
    with pytest.raises(ValueError):
        SPOT(risk=2.0)


def smoothed_noise(n: int = 20000, seed: int = 0) -> np.ndarray:
    """Errors as lstm_ad scores them: absolute errors under an EWMA of span 105."""
    errors = np.abs(np.random.default_rng(seed).normal(size=n))
    return pd.Series(errors).ewm(span=105).mean().to_numpy().copy()


def test_each_window_judges_only_the_errors_it_adds():
    """A window's older errors are its history (the authors' implementation): with the default sliding windows a
    burst is flagged with its buffer, and the noise around it, judged by some 30 windows each, is not."""
    errors = smoothed_noise()
    errors[9000:9100] += 2.0
    flags = DynamicThreshold(inverse=False).predict(errors)
    assert flags[9000:9100].all()
    assert flags[:8900].sum() + flags[9200:].sum() == 0
    assert DynamicThreshold(inverse=False).predict(smoothed_noise()).sum() == 0


def test_the_inverse_pass_flags_an_unusual_drop_of_the_errors():
    errors = smoothed_noise()
    errors[9000:9100] = 0.0
    assert DynamicThreshold(inverse=False).predict(errors)[9000:9100].sum() == 0
    assert DynamicThreshold().predict(errors)[9000:9100].all()


def test_a_series_shorter_than_the_buffer_window_is_judged():
    errors = np.abs(np.random.default_rng(1).normal(size=150)) * 0.1
    errors[70:75] += 2.0
    assert DynamicThreshold(buffer=100)._widened(errors > 1.0).shape == (150,)  # was 201 long
    flags = DynamicThreshold(buffer=20).predict(errors)  # a window longer than the series: all of it is new
    assert flags[70:75].all() and flags[:50].sum() + flags[95:].sum() == 0
