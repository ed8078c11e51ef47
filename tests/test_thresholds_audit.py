"""Audit of the thresholds: conformal calibration, the POT/SPOT tail fit, and the dynamic threshold's fallback.

Each test pins a property the papers (or the conformal rule) state, and which an earlier version broke.
"""
import math

import numpy as np
import pytest

import genad
from genad.thresholds import FPRThreshold, POTThreshold, fit_gpd, pot_quantile
from genad.timeseries.thresholds import SPOT, DynamicThreshold


def gpd_loglik(y: np.ndarray, gamma: float, sigma: float) -> float:
    """Log-likelihood of excesses ``y`` under a GPD (location 0); -inf outside its support."""
    if abs(gamma) < 1e-12:
        return float(-y.size * math.log(sigma) - y.sum() / sigma)
    z = 1.0 + gamma * y / sigma
    if (z <= 0).any():
        return -math.inf
    return float(-y.size * math.log(sigma) - (1.0 + 1.0 / gamma) * np.log(z).sum())


# --- conformal calibration ----------------------------------------------------------------------

def test_fpr_threshold_is_the_conformal_order_statistic():
    # n = 19 held-out scores 1..19, fpr 0.1: the ceil((n + 1) * 0.9) = 18th smallest, not an interpolated 17.2
    rule = FPRThreshold(0.1).fit(np.arange(1.0, 20.0)[::-1])
    assert rule.threshold_ == 18.0
    assert FPRThreshold(0.05).fit(np.arange(1.0, 101.0)).threshold_ == 96.0  # ceil(101 * 0.95) = 96


@pytest.mark.parametrize("n, fpr", [(19, 0.1), (20, 0.1), (57, 0.05), (200, 0.01), (1000, 0.3)])
def test_fpr_flags_exactly_the_scores_whose_p_value_is_at_most_fpr(n, fpr):
    rng = np.random.default_rng(n)
    calibration = np.round(rng.normal(size=n), 1)  # ties included
    rule = FPRThreshold(fpr).fit(calibration)
    probes = np.r_[calibration, calibration + 0.05, calibration - 0.05, np.linspace(-4, 4, 401)]
    assert np.array_equal(rule.predict(probes) == 1, rule.p_values(probes) <= fpr)


def test_fpr_keeps_the_false_positive_rate_in_small_samples():
    # 19 held-out normal scores and fpr 0.1: a new normal score is flagged with probability exactly 2/20
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(20_000, 20))
    flagged = np.array([FPRThreshold(0.1).fit(row[:19]).predict(row[19:])[0] for row in draws])
    assert flagged.mean() == pytest.approx(0.1, abs=0.007)  # the interpolated quantile gave about 0.14


def test_fpr_refuses_too_few_held_out_scores():
    with pytest.raises(ValueError, match="fpr=0.01 needs at least 99 held-out normal scores"):
        FPRThreshold(0.01).fit(np.arange(98.0))
    assert FPRThreshold(0.01).fit(np.arange(99.0)).threshold_ == 98.0  # the largest: ceil(100 * 0.99) = 99th


def test_detector_calibrate_refuses_too_few_rows_by_name():
    X = np.random.default_rng(0).normal(size=(60, 3))
    det = genad.create("ae", epochs=1, random_state=0).fit(X)
    before = det.threshold_
    with pytest.raises(ValueError, match="needs at least 99 held-out"):
        det.calibrate(X[:30], fpr=0.01)
    assert det.threshold_ == before  # the refused calibration changed nothing


# --- POT: the tail fit and the quantile ---------------------------------------------------------

@pytest.mark.parametrize("seed", range(20))
def test_gpd_fit_keeps_every_excess_inside_the_fitted_support(seed):
    # Bounded excesses (uniform: shape -1) drove scipy's generic fit to a support that ends below the
    # largest excess (likelihood zero) for several of these seeds.
    y = np.random.default_rng(seed).uniform(size=100)
    gamma, sigma = fit_gpd(y)
    assert sigma > 0 and np.all(1.0 + gamma * y / sigma > 0)
    assert np.isfinite(gpd_loglik(y, gamma, sigma))


@pytest.mark.parametrize("shape", [-0.3, 0.0, 0.3])
def test_gpd_fit_is_a_likelihood_maximum(shape):
    rng = np.random.default_rng(1)
    u = rng.uniform(size=3000)
    y = -np.log(u) if shape == 0 else (u ** -shape - 1.0) / shape  # GPD(shape, 1) draws
    gamma, sigma = fit_gpd(y)
    assert gamma == pytest.approx(shape, abs=0.06) and sigma == pytest.approx(1.0, rel=0.08)
    best = gpd_loglik(y, gamma, sigma)
    for dg, ds in [(0.01, 1.0), (-0.01, 1.0), (0.0, 1.01), (0.0, 0.99), (0.01, 1.01), (-0.01, 0.99)]:
        assert best >= gpd_loglik(y, gamma + dg, sigma * ds) - 1e-9


def test_pot_does_not_flag_scores_tied_at_the_initial_threshold():
    # 5% of the scores tie at 10 and one lies above: fewer than risk * n scores exceed t = 10, so no
    # score at t is rarer than the risk; equation (1) alone fell below t and flagged all 500.
    rng = np.random.default_rng(0)
    scores = np.r_[rng.uniform(size=9500), np.full(499, 10.0), 11.0]
    rule = POTThreshold(risk=1e-3).fit(scores)
    assert rule.initial_threshold_ == 10.0 and rule.threshold_ >= 10.0
    assert rule.predict(scores).sum() <= 1
    assert pot_quantile(10.0, 0.0, 1.0, risk=1e-3, n=10_000, n_peaks=1) == 10.0


def test_spot_leaves_alarms_out_of_the_peaks_and_the_count():
    rng = np.random.default_rng(0)
    spot = SPOT(risk=1e-3).fit(rng.exponential(size=5000))
    peaks, n, threshold = len(spot.peaks_), spot.n_, spot.threshold_
    assert spot.predict([1e6])[0] == 1
    assert (len(spot.peaks_), spot.n_, spot.threshold_) == (peaks, n, threshold)  # an alarm changes nothing
    peak = (spot.t_ + threshold) / 2
    assert spot.predict([peak, 0.0])[0] == 0
    assert len(spot.peaks_) == peaks + 1 and spot.n_ == n + 2 and spot.threshold_ != threshold
    assert spot.thresholds_[0] == threshold  # the threshold the peak was judged by


# --- the dynamic threshold ----------------------------------------------------------------------

def test_dynamic_threshold_falls_back_to_z_limit_when_no_candidate_passes():
    # Six separate spikes: every z in 2.5..11.5 makes six sequences (more than five), so no candidate
    # passes; the authors' code then uses eps = mean + 12 std, which the spikes exceed.
    rng = np.random.default_rng(3)
    errors = np.abs(rng.normal(size=2100)) * 0.1
    spikes = [150, 450, 750, 1050, 1350, 1650]
    errors[spikes] += 10.0
    rule = DynamicThreshold(window=2100, step=2100, inverse=False)
    assert rule.best_epsilon(errors) == pytest.approx(errors.mean() + 12.0 * errors.std())
    assert rule.predict(errors)[spikes].all()
    assert DynamicThreshold(window=2100, step=2100, inverse=False, z_limit=50.0).predict(errors).sum() == 0
    assert rule.best_epsilon(np.ones(100)) == np.inf  # equal errors: nothing to flag


@pytest.mark.parametrize("z_limit", [0.0, -1.0, np.nan])
def test_dynamic_threshold_refuses_a_bad_z_limit(z_limit):
    with pytest.raises(ValueError, match="z_limit"):
        DynamicThreshold(z_limit=z_limit)
