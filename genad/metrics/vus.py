"""Volume Under the Surface (Paparrizos et al., VLDB 2022): VUS-ROC and VUS-PR.

Range-AUC replaces binary labels by labels that ramp down (``sqrt(1 - d / l)``) over a buffer of
``l // 2`` steps on each side of every anomaly range; its recall counts the buffer's weight and is
multiplied by the share of (buffered) ranges hit at all (existence reward). VUS averages range-AUC
over buffer lengths ``l = 0 .. max_buffer``, so no single buffer choice decides the result.

This follows the authors' reference implementation (``vus`` package, ``RangeAUC_volume_opt``):
``n_thresholds`` thresholds taken at evenly spaced ranks of the sorted scores, predictions
``score >= threshold``, recall over ``P_new = (P + weighted labels) / 2``, ROC integrated by the
trapezoid rule from (0, 0) to (1, 1), PR as a step sum. It is vectorised over thresholds here;
``tests/test_metrics_vus.py`` checks hand-computed cases and values of the reference code.

References
----------
Paparrizos, Boniol, Palpanas, Tsay, Elmore, Franklin. "Volume Under the Surface: A New Accuracy
Evaluation Measure for Time-Series Anomaly Detection". PVLDB 15(11), 2022.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from genad.metrics.point import check_labels_scores
from genad.metrics.ranges import ranges
from genad.validation import check_int


def buffered_labels(labels: np.ndarray, anomaly_ranges: np.ndarray, buffer: int) -> np.ndarray:
    """Labels with a ``sqrt(1 - d / buffer)`` ramp over ``buffer // 2`` steps around each range, capped at 1."""
    soft = labels.astype(np.float64).copy()
    n = soft.size
    half = buffer // 2
    for start, end in anomaly_ranges:
        after = np.arange(end + 1, min(end + half + 1, n))
        soft[after] += np.sqrt(1 - (after - end) / buffer)
        before = np.arange(max(start - half, 0), start)
        soft[before] += np.sqrt(1 - (start - before) / buffer)
    return np.minimum(soft, 1.0)


def merged_buffered_ranges(anomaly_ranges: np.ndarray, buffer: int, n: int) -> np.ndarray:
    """Ranges widened by ``buffer // 2`` on each side, overlapping ones merged (the existence units)."""
    half = buffer // 2
    widened = np.column_stack([np.maximum(anomaly_ranges[:, 0] - half, 0),
                               np.minimum(anomaly_ranges[:, 1] + half, n - 1)])
    merged = [list(widened[0])]
    for start, end in widened[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return np.asarray(merged)


def range_auc_curves(labels: np.ndarray, scores: np.ndarray, buffer: int, n_thresholds: int = 250):
    """TPR, FPR (with the end points) and precision of range-AUC for one buffer length."""
    n = labels.size
    anomaly_ranges = ranges(labels)
    soft = buffered_labels(labels, anomaly_ranges, buffer)
    order = np.argsort(-scores, kind="stable")
    sorted_desc = scores[order]
    thresholds = sorted_desc[np.linspace(0, n - 1, n_thresholds).astype(int)]
    ascending = sorted_desc[::-1]
    n_pred = n - np.searchsorted(ascending, thresholds, side="left")  # #(score >= threshold)
    # Every point scoring >= threshold is a prefix of the descending order (ties included by n_pred).
    weight_prefix = np.r_[0.0, np.cumsum(soft[order])]
    buffer_prefix = np.r_[0.0, np.cumsum((soft * (labels == 0))[order])]
    true_pos = weight_prefix[n_pred]
    n_positive = labels.sum()
    n_labels = n_positive + buffer_prefix[n_pred]
    units = merged_buffered_ranges(anomaly_ranges, buffer, n)
    unit_max = np.array([scores[s:e + 1].max() for s, e in units])
    existence = (unit_max[None, :] >= thresholds[:, None]).sum(axis=1) / len(units)
    p_new = (n_positive + n_labels) / 2
    recall = np.minimum(true_pos / p_new, 1.0)
    tpr = np.r_[0.0, recall * existence, 1.0]
    fpr = np.r_[0.0, (n_pred - true_pos) / (n - p_new), 1.0]
    precision = true_pos / n_pred
    return tpr, fpr, precision


def _check_params(buffer_name: str, buffer: int, n_thresholds: int) -> None:
    """The buffer length (``buffer`` or ``max_buffer``) and the thresholds per curve."""
    check_int(buffer_name, buffer, low=0)
    check_int("n_thresholds", n_thresholds, low=2)


def range_auc(labels: Any, scores: Any, buffer: int, n_thresholds: int = 250) -> tuple[float, float]:
    """Range-AUC-ROC and range-AUC-PR for one buffer length ``buffer >= 0`` (see :func:`vus`)."""
    _check_params("buffer", buffer, n_thresholds)
    labels, scores = check_labels_scores(labels, scores)
    return _range_auc(labels, scores, buffer, n_thresholds)


def _range_auc(labels: np.ndarray, scores: np.ndarray, buffer: int, n_thresholds: int) -> tuple[float, float]:
    tpr, fpr, precision = range_auc_curves(labels, scores, buffer, n_thresholds)
    roc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    pr = float(np.sum(np.diff(tpr[:-1]) * precision))
    return roc, pr


def vus(labels: Any, scores: Any, max_buffer: int = 100, n_thresholds: int = 250) -> dict[str, float]:
    """VUS-ROC and VUS-PR: range-AUC averaged over buffer lengths ``0 .. max_buffer``.

    Parameters
    ----------
    labels : 0/1 per time step (1 = anomaly), with at least one anomaly.
    scores : one anomaly score per time step (higher = more anomalous).
    max_buffer : the largest buffer ``L`` (the reference uses the series' sliding-window length).
    n_thresholds : thresholds per curve (the reference's ``thre=250``).
    """
    _check_params("max_buffer", max_buffer, n_thresholds)
    labels, scores = check_labels_scores(labels, scores)
    values = np.array([_range_auc(labels, scores, buffer, n_thresholds) for buffer in range(max_buffer + 1)])
    return {"vus_roc": float(values[:, 0].mean()), "vus_pr": float(values[:, 1].mean())}
