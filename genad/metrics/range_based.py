"""Range-based precision, recall and F1 (Tatbul et al., NeurIPS 2018).

Recall of each real anomaly range ``R``: ``alpha * existence + (1 - alpha) * cardinality * overlap``,
where existence is 1 when any predicted range touches ``R``, overlap is the positional-bias-weighted
share of ``R`` covered by predictions, and cardinality ``gamma`` penalises ``R`` being split over
several predicted ranges (``1/x`` for ``x`` overlapping ranges, the paper's suggestion). Precision
of each predicted range is the same with the roles exchanged and ``alpha = 0``. Both are averaged
over ranges; F1 is their harmonic mean.

References
----------
Tatbul, Lee, Zdonik, Alam, Gottschlich. "Precision and Recall for Time Series". NeurIPS 2018.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from genad.metrics.point import check_labels_predictions
from genad.metrics.ranges import ranges
from genad.validation import check_choice, check_float

BIASES = ("flat", "front", "back", "middle")


def _positional_weights(length: int, bias: str) -> np.ndarray:
    """The paper's delta(i, length) for positions i = 1..length."""
    i = np.arange(1, length + 1, dtype=np.float64)
    if bias == "flat":
        return np.ones(length)
    if bias == "front":
        return length - i + 1
    if bias == "back":
        return i
    mid = length / 2
    return np.where(i <= mid, i, length - i + 1)


def _range_scores(targets: np.ndarray, others: np.ndarray, alpha: float, bias: str, cardinality: str) -> np.ndarray:
    """Per-range score of each target range against the other side's ranges."""
    out = np.zeros(len(targets))
    for k, (start, end) in enumerate(targets):
        hits = others[(others[:, 0] <= end) & (others[:, 1] >= start)] if len(others) else others
        if len(hits) == 0:
            continue
        weights = _positional_weights(end - start + 1, bias)
        covered = np.zeros(end - start + 1, dtype=bool)
        for s, e in hits:
            covered[max(s, start) - start: min(e, end) - start + 1] = True
        overlap = weights[covered].sum() / weights.sum()
        gamma = 1.0 if (cardinality == "one" or len(hits) == 1) else 1.0 / len(hits)
        out[k] = alpha * 1.0 + (1 - alpha) * gamma * overlap
    return out


def range_precision_recall_f1(labels: Any, predictions: Any, *, alpha: float = 0.0, bias: str = "flat",
                              cardinality: str = "reciprocal") -> dict[str, float]:
    """Range-based precision, recall and F1 of 0/1 ``predictions`` against 0/1 ``labels``.

    Parameters
    ----------
    alpha : weight of the existence reward in recall (0 = overlap only, the paper's setting that
        matches classical recall on point anomalies).
    bias : positional bias ``"flat"``, ``"front"``, ``"back"`` or ``"middle"`` (same for P and R).
    cardinality : ``"reciprocal"`` (gamma = 1/x) or ``"one"`` (no fragmentation penalty).

    Labels without any anomaly give zero recall, and predictions without any flag zero precision
    (nothing to average over); empty input is an error.
    """
    check_float("alpha", alpha, 0.0, 1.0)
    check_choice("bias", bias, BIASES)
    check_choice("cardinality", cardinality, ("reciprocal", "one"))
    labels, predictions = check_labels_predictions(labels, predictions)
    real, predicted = ranges(labels), ranges(predictions)
    recall = float(_range_scores(real, predicted, alpha, bias, cardinality).mean()) if len(real) else 0.0
    precision = float(_range_scores(predicted, real, 0.0, bias, cardinality).mean()) if len(predicted) else 0.0
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"range_precision": precision, "range_recall": recall, "range_f1": f1}
