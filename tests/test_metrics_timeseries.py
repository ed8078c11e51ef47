"""Range-based precision/recall (Tatbul et al.), best F1 and the optimistic point-adjusted F1."""
import numpy as np
import pytest

from genad.metrics import auprc, best_f1, point_adjust, point_adjusted_f1, range_precision_recall_f1, ranges


def test_ranges_are_inclusive_runs():
    np.testing.assert_array_equal(ranges([1, 1, 0, 0, 1, 0, 1]), [[0, 1], [4, 4], [6, 6]])
    assert ranges([0, 0]).shape == (0, 2)


def test_range_recall_and_precision_by_hand():
    labels = np.array([0, 0, 1, 1, 1, 0, 0, 0, 1, 0])
    predictions = np.array([0, 0, 0, 1, 0, 0, 0, 0, 1, 1])
    # recall: range [2,4] covered 1/3, range [8] covered 1 -> 2/3; precision: [3] inside 1, [8,9] half -> 3/4
    result = range_precision_recall_f1(labels, predictions)
    assert result["range_recall"] == pytest.approx(2 / 3)
    assert result["range_precision"] == pytest.approx(3 / 4)
    assert result["range_f1"] == pytest.approx(2 * (2 / 3) * (3 / 4) / (2 / 3 + 3 / 4))


def test_existence_reward_and_cardinality():
    labels = np.array([0, 1, 1, 1, 1, 1, 1, 0])
    fragmented = np.array([0, 1, 0, 1, 0, 1, 0, 0])
    # overlap 3/6 split over three predicted ranges: gamma = 1/3 -> 1/6; alpha=1 rewards existence only
    assert range_precision_recall_f1(labels, fragmented)["range_recall"] == pytest.approx(1 / 6)
    assert range_precision_recall_f1(labels, fragmented, cardinality="one")["range_recall"] == pytest.approx(0.5)
    assert range_precision_recall_f1(labels, fragmented, alpha=1.0)["range_recall"] == pytest.approx(1.0)


def test_front_bias_rewards_early_detection():
    labels = np.array([0, 1, 1, 1, 1, 0])
    early, late = np.array([0, 1, 1, 0, 0, 0]), np.array([0, 0, 0, 1, 1, 0])
    front = lambda p: range_precision_recall_f1(labels, p, bias="front")["range_recall"]  # noqa: E731
    assert front(early) > front(late)


def test_point_adjustment_inflates_a_single_hit():
    labels = np.r_[np.zeros(50), np.ones(50)].astype(int)
    scores = np.zeros(100)
    scores[75] = 1.0  # one lucky point in a long range
    np.testing.assert_array_equal(point_adjust(labels, scores > 0.5), labels)
    assert point_adjusted_f1(labels, scores)["pa_f1_optimistic"] == pytest.approx(1.0)
    assert best_f1(labels, scores)["best_f1"] < 0.7  # the honest point F1 is far lower
    assert auprc(labels, scores) < 0.8


def test_best_f1_by_hand():
    labels = np.array([0, 1, 1, 0, 0])
    scores = np.array([0.1, 0.9, 0.4, 0.5, 0.0])
    # thresholds: 0.9 -> P1 R.5 F.667; 0.5 -> P.5 R.5; 0.4 -> P2/3 R1 F.8
    assert best_f1(labels, scores)["best_f1"] == pytest.approx(0.8)


def test_mismatched_lengths_are_errors():
    with pytest.raises(ValueError, match="entries"):
        range_precision_recall_f1([0, 1], [0, 1, 0])
    with pytest.raises(ValueError, match="bias"):
        range_precision_recall_f1([0, 1], [0, 1], bias="sideways")
