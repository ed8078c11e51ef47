"""Threshold-free point metrics: AUROC and AUPRC (average precision)."""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from genad.validation import as_1d, as_labels, as_scores


_PREDICTIONS_HINT = "; threshold scores first (e.g. rule.predict(scores) or scores > threshold)"


def _check_pair(labels: np.ndarray, other: np.ndarray, other_name: str) -> None:
    """Same length, and not empty (every metric needs at least one time step)."""
    if labels.size != other.size:
        raise ValueError(f"labels have {labels.size} entries but {other_name} have {other.size}; "
                         "they must describe the same time steps")
    if labels.size == 0:
        raise ValueError(f"labels and {other_name} are empty; pass one value per time step")


def check_labels_scores(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and finite scores of the same length, with at least one anomaly and one normal point."""
    labels, scores = as_labels(labels, name="labels"), as_scores(as_1d(scores, "scores"), min_size=0)
    _check_pair(labels, scores, "scores")
    if labels.min() == labels.max():
        raise ValueError("labels must contain both anomalies (1) and normal points (0)")
    return labels, scores


def check_labels_predictions(labels: Any, predictions: Any) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and 0/1 predictions of the same, non-zero length."""
    labels = as_labels(labels, name="labels")
    predictions = as_labels(predictions, name="predictions", hint=_PREDICTIONS_HINT)
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
