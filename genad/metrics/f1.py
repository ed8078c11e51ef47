"""Best F1 over thresholds, and point-adjusted F1 (optimistic: report it only beside VUS-PR).

Point adjustment (Xu et al., WWW 2018) marks a whole labelled anomaly range as detected when any
one of its points is flagged; it inflates weak and even random detectors (Kim et al., AAAI 2022),
which is why genad labels it ``optimistic`` and never reports it alone.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve

from genad.metrics.point import check_labels_predictions, check_labels_scores
from genad.metrics.ranges import ranges


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=np.float64), where=denominator > 0)


def best_f1(labels: Any, scores: Any) -> dict[str, float]:
    """The highest point-wise F1 over all thresholds, and that threshold (an oracle upper bound)."""
    labels, scores = check_labels_scores(labels, scores)
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision),
                   where=(precision + recall) > 0)[:-1]
    best = int(np.argmax(f1))
    return {"best_f1": float(f1[best]), "best_f1_threshold": float(thresholds[best])}


def point_adjust(labels: Any, predictions: Any) -> np.ndarray:
    """0/1 ``predictions`` with every labelled range that has at least one flagged point fully flagged."""
    labels, adjusted = check_labels_predictions(labels, predictions)  # adjusted is a fresh copy
    for start, end in ranges(labels):
        if adjusted[start:end + 1].any():
            adjusted[start:end + 1] = 1
    return adjusted


def point_adjusted_f1(labels: Any, scores: Any) -> dict[str, float]:
    """Best F1 over thresholds after point adjustment (``optimistic``: inflates weak detectors)."""
    labels, scores = check_labels_scores(labels, scores)
    real = ranges(labels)
    range_max = np.array([scores[s:e + 1].max() for s, e in real])
    range_len = real[:, 1] - real[:, 0] + 1
    thresholds = np.unique(scores)
    normal_sorted = np.sort(scores[labels == 0])
    fp = normal_sorted.size - np.searchsorted(normal_sorted, thresholds, side="left")
    order = np.argsort(range_max)
    len_suffix = np.r_[np.cumsum(range_len[order][::-1])[::-1], 0]
    tp = len_suffix[np.searchsorted(range_max[order], thresholds, side="left")]
    fn = range_len.sum() - tp
    f1 = _f1(tp.astype(np.float64), fp.astype(np.float64), fn.astype(np.float64))
    best = int(np.argmax(f1))
    return {"pa_f1_optimistic": float(f1[best]), "pa_f1_threshold": float(thresholds[best])}
