"""VUS-ROC / VUS-PR: hand-computed cases and values of the authors' reference implementation."""
import numpy as np
import pytest

from genad.metrics import auroc, range_auc, vus
from genad.metrics.vus import buffered_labels, merged_buffered_ranges
from genad.metrics.ranges import ranges


def test_perfect_scores_give_one_for_every_buffer():
    labels = np.zeros(40, dtype=int)
    labels[10:14] = 1
    labels[30] = 1
    result = vus(labels, labels.astype(float), max_buffer=8)
    assert result == {"vus_roc": 1.0, "vus_pr": 1.0}


def test_hand_computed_case_without_buffer():
    # thresholds at every rank: TPR (recall x existence) 0.5,0.5,0.5,1,1,1; FPR 0,1/4,2/4,2/4,3/4,1;
    # precision 1,1/2,1/3,1/2,2/5,1/3 -> trapezoid ROC 0.75 (= point AUROC here), step PR 0.5*1 + 0.5*0.5.
    labels = np.array([0, 0, 1, 1, 0, 0])
    scores = np.array([0.1, 0.5, 0.9, 0.2, 0.3, 0.0])
    roc, pr = range_auc(labels, scores, buffer=0, n_thresholds=6)
    assert roc == pytest.approx(0.75) and pr == pytest.approx(0.75)
    assert auroc(labels, scores) == pytest.approx(0.75)


def test_buffer_ramp_is_the_papers_square_root():
    labels = np.array([0, 0, 0, 1, 1, 0, 0, 0])
    soft = buffered_labels(labels, ranges(labels), buffer=4)  # two steps of ramp on each side
    np.testing.assert_allclose(soft, [0, np.sqrt(0.5), np.sqrt(0.75), 1, 1, np.sqrt(0.75), np.sqrt(0.5), 0])
    np.testing.assert_array_equal(merged_buffered_ranges(np.array([[2, 3], [6, 6]]), 4, 10), [[0, 8]])


def reference_case():
    rng = np.random.default_rng(42)
    labels = np.zeros(300, dtype=int)
    labels[50:60] = 1
    labels[120:121] = 1
    labels[200:240] = 1
    return labels, np.round(rng.normal(size=300) + 1.5 * labels, 2)


@pytest.mark.parametrize("max_buffer, expected_roc, expected_pr", [
    # computed with TheDatumOrg's `vus` 0.0.6 (metricor().RangeAUC_volume_opt), the authors' code
    (0, 0.8102737748379137, 0.5040593651886369),
    (7, 0.8460040381299174, 0.5361634172131063),
    (30, 0.9040013175115379, 0.6356145855964735),
])
def test_agrees_with_the_reference_implementation(max_buffer, expected_roc, expected_pr):
    labels, scores = reference_case()
    result = vus(labels, scores, max_buffer=max_buffer)
    assert result["vus_roc"] == pytest.approx(expected_roc, abs=1e-12)
    assert result["vus_pr"] == pytest.approx(expected_pr, abs=1e-12)


def test_buffer_rewards_near_misses():
    labels = np.zeros(200, dtype=int)
    labels[100:110] = 1
    early = np.zeros(200)
    early[96:100] = 1.0  # flags just before the labelled range
    assert vus(labels, early, max_buffer=20)["vus_pr"] > vus(labels, early, max_buffer=0)["vus_pr"]


@pytest.mark.parametrize("labels, scores, message", [
    (np.zeros(10), np.arange(10.0), "both"),
    (np.r_[np.zeros(9), 1], np.arange(9.0), "same time steps"),
    (np.r_[np.zeros(9), 2], np.arange(10.0), "0 \\(normal\\) and 1"),
    (np.r_[np.zeros(9), 1], np.r_[np.arange(9.0), np.nan], "NaN"),
])
def test_bad_inputs_are_named(labels, scores, message):
    with pytest.raises(ValueError, match=message):
        vus(labels, scores)
