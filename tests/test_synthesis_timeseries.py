"""Time-series anomaly injection (Lai et al., NeurIPS 2021): each type has its defining property."""
import numpy as np
import pytest

from genad.metrics import ranges
from genad.synthesis import TIMESERIES_ANOMALY_TYPES, inject_anomalies


def sine(n=3000, period=50):
    return np.sin(2 * np.pi * np.arange(n) / period)


@pytest.mark.parametrize("kind", TIMESERIES_ANOMALY_TYPES)
def test_seeded_labelled_and_confined(kind):
    x = sine()
    a, labels = inject_anomalies(x, kind, n=3, seed=7)
    b, _ = inject_anomalies(x, kind, n=3, seed=7)
    c, _ = inject_anomalies(x, kind, n=3, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(ranges(labels)) == 3
    np.testing.assert_array_equal(a[labels == 0], x[labels == 0])  # nothing changes outside the labels
    assert labels.sum() == (3 if kind in ("global", "contextual") else 150)


def test_global_point_is_far_from_the_whole_series():
    x = sine()
    y, labels = inject_anomalies(x, "global", n=5, strength=4.0, seed=0)
    deviation = np.abs(y[labels == 1] - x.mean()) / x.std()
    np.testing.assert_allclose(deviation, 4.0, rtol=1e-9)
    assert (np.abs(y[labels == 1]) > np.abs(x).max()).all()


def test_contextual_point_is_far_from_its_neighbours_but_inside_the_global_range():
    rng = np.random.default_rng(0)
    x = np.arange(3000) / 100 + 0.05 * rng.normal(size=3000)
    y, labels = inject_anomalies(x, "contextual", n=5, strength=3.0, context=25, seed=1)
    for t in np.flatnonzero(labels):
        around = np.r_[x[t - 25:t], x[t + 1:t + 26]]
        assert abs(y[t] - around.mean()) == pytest.approx(3.0 * around.std())
        assert x.min() < y[t] < x.max()


def test_contextual_point_stays_inside_the_global_range_when_its_offset_would_leave_it():
    # a neighbourhood of 51 steps spans a whole period: 3 of its std from its mean lie beyond [-1, 1]
    x = sine(period=50)
    y, labels = inject_anomalies(x, "contextual", n=8, strength=3.0, context=25, seed=1)
    points = y[labels == 1]
    assert (x.min() <= points).all() and (points <= x.max()).all()
    assert (points != x[labels == 1]).all()


def test_shapelet_keeps_level_and_amplitude_but_changes_shape():
    x = sine()
    y, labels = inject_anomalies(x, "shapelet", n=4, length=50, strength=1.0, seed=2)
    for start, end in ranges(labels):
        old, new = x[start:end + 1], y[start:end + 1]
        assert new.mean() == pytest.approx(old.mean(), abs=1e-9)
        assert new.std() == pytest.approx(old.std(), rel=1e-6)
        assert abs(np.corrcoef(old, new)[0, 1]) < 0.95


def test_seasonal_changes_the_frequency():
    x = sine(period=50)
    y, labels = inject_anomalies(x, "seasonal", n=2, length=100, strength=2.0, seed=3)
    for start, end in ranges(labels):
        old_peak = np.argmax(np.abs(np.fft.rfft(x[start:end + 1]))[1:]) + 1
        new_peak = np.argmax(np.abs(np.fft.rfft(y[start:end + 1]))[1:]) + 1
        assert new_peak == 2 * old_peak


def test_trend_adds_a_linear_drift():
    x = sine()
    y, labels = inject_anomalies(x, "trend", n=2, length=60, strength=3.0, seed=4)
    for start, end in ranges(labels):
        drift = y[start:end + 1] - x[start:end + 1]
        # equal steps from the first step on (a ramp from 0 would leave the first labelled step unchanged)
        np.testing.assert_allclose(drift, np.linspace(drift[-1] / 60, drift[-1], 60), atol=1e-12)
        assert abs(drift[-1]) == pytest.approx(3.0 * x.std())


def test_multivariate_hits_one_channel_per_anomaly():
    X = np.c_[sine(), sine(period=30)]
    Y, labels = inject_anomalies(X, "global", n=6, seed=5)
    changed = Y != X
    assert changed.any(axis=1).sum() == 6 and (changed.sum(axis=1) <= 1).all()


def test_bad_requests_are_named():
    with pytest.raises(ValueError, match="kind"):
        inject_anomalies(sine(), "wobble")
    with pytest.raises(ValueError, match="cannot place"):
        inject_anomalies(sine(200), "trend", n=10, length=50)
    with pytest.raises(ValueError, match="NaN"):
        inject_anomalies(np.r_[sine(100), np.nan], "global")


def test_persistent_trend_shifts_every_later_step():
    """The paper's trend outlier: the drift reached at a segment's end stays on for good, unlabelled."""
    X = np.c_[sine(), sine(period=30)]
    shifted, labels = inject_anomalies(X, "trend", n=3, length=40, persist=True, seed=6)
    returned, same_labels = inject_anomalies(X, "trend", n=3, length=40, seed=6)
    np.testing.assert_array_equal(labels, same_labels)
    segments = ranges(labels)
    first_start = segments[0][0]
    np.testing.assert_array_equal(shifted[:first_start], X[:first_start])  # untouched before the first trend
    offset = shifted - X
    for (start, end), next_start in zip(segments, [s for s, _ in segments[1:]] + [len(X)]):
        after = offset[end + 1:next_start]  # unlabelled steps up to the next segment: a constant shift
        np.testing.assert_allclose(after, np.broadcast_to(offset[end], after.shape), atol=1e-12)
        # within the segment, the drift adds to the level the earlier trends left
        level = offset[start - 1] if start else 0.0
        np.testing.assert_allclose(offset[start:end + 1] - level, returned[start:end + 1] - X[start:end + 1],
                                   atol=1e-12)
    assert (np.abs(offset[-1]) > 0).any()


def test_persist_is_for_trends_only():
    with pytest.raises(ValueError, match="persist"):
        inject_anomalies(sine(), "shapelet", persist=True)
    with pytest.raises(TypeError, match="persist"):
        inject_anomalies(sine(), "trend", persist="yes")
