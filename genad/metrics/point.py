"""Threshold-free point metrics: AUROC and AUPRC (average precision)."""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def check_labels_scores(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and finite scores of the same length, with at least one anomaly and one normal point."""
    labels = np.asarray(labels).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape[0] != scores.shape[0]:
        raise ValueError(f"labels have {labels.shape[0]} entries but scores have {scores.shape[0]}; "
                         "they must describe the same time steps")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"labels must be 0 (normal) or 1 (anomaly), got values {np.unique(labels)[:10]}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    if labels.min() == labels.max():
        raise ValueError("labels must contain both anomalies (1) and normal points (0)")
    return labels.astype(np.int64), scores


def auroc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve of per-point scores."""
    labels, scores = check_labels_scores(labels, scores)
    return float(roc_auc_score(labels, scores))


def auprc(labels: Any, scores: Any) -> float:
    """Area under the precision-recall curve (average precision) of per-point scores."""
    labels, scores = check_labels_scores(labels, scores)
    return float(average_precision_score(labels, scores))
