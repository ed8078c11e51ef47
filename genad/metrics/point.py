"""Threshold-free point metrics: AUROC and AUPRC (average precision)."""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from genad.validation import as_scores, to_numeric_array


_PREDICTIONS_HINT = "; threshold scores first (e.g. rule.predict(scores) or scores > threshold)"


def one_per_step(values: Any, name: str, what: str = "value") -> np.ndarray:
    """``values`` as a 1-D numeric array, one entry per time step; an ``(n, 1)`` column is accepted.

    Any other shape is a clear error: flattening a ``(50, 2)`` array against 100 scores would pair the
    wrong entries silently.
    """
    if values is None:
        raise TypeError(f"{name} are missing (got None); pass one {what} per time step")
    array = to_numeric_array(values, name)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one {what} per time step (or an (n, 1) column), "
                         f"got shape {array.shape}")
    return array


def as_binary(values: Any, name: str, hint: str = "") -> np.ndarray:
    """``values`` as a 1-D int64 array of 0 (normal) and 1 (anomaly), or a clear error."""
    values = one_per_step(values, name, "0/1 value")
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"{name} must be 0 (normal) or 1 (anomaly), got values {np.unique(values)[:10]}{hint}")
    return values.astype(np.int64)


def _check_pair(labels: np.ndarray, other: np.ndarray, other_name: str) -> None:
    """Same length, and not empty (every metric needs at least one time step)."""
    if labels.size != other.size:
        raise ValueError(f"labels have {labels.size} entries but {other_name} have {other.size}; "
                         "they must describe the same time steps")
    if labels.size == 0:
        raise ValueError(f"labels and {other_name} are empty; pass one value per time step")


def check_labels_scores(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and finite scores of the same length, with at least one anomaly and one normal point."""
    labels, scores = as_binary(labels, "labels"), as_scores(one_per_step(scores, "scores"), min_size=0)
    _check_pair(labels, scores, "scores")
    if labels.min() == labels.max():
        raise ValueError("labels must contain both anomalies (1) and normal points (0)")
    return labels, scores


def check_labels_predictions(labels: Any, predictions: Any) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and 0/1 predictions of the same, non-zero length."""
    labels, predictions = as_binary(labels, "labels"), as_binary(predictions, "predictions", hint=_PREDICTIONS_HINT)
    _check_pair(labels, predictions, "predictions")
    return labels, predictions


def auroc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve of per-point scores."""
    labels, scores = check_labels_scores(labels, scores)
    return float(roc_auc_score(labels, scores))


def auprc(labels: Any, scores: Any) -> float:
    """Area under the precision-recall curve (average precision) of per-point scores."""
    labels, scores = check_labels_scores(labels, scores)
    return float(average_precision_score(labels, scores))
