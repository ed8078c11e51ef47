"""Anomaly ranges: runs of 1s in a 0/1 sequence, the unit of time-series metrics."""
from __future__ import annotations

import numpy as np

from genad.validation import as_1d, as_scores


def ranges(binary: np.ndarray) -> np.ndarray:
    """``(K, 2)`` inclusive ``[start, end]`` of every run of non-zero values in a 1-D sequence (or ``(n, 1)``)."""
    flags = as_scores(as_1d(binary, "values"), name="values", min_size=0) != 0
    edges = np.diff(np.r_[0, flags.astype(np.int8), 0])
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return np.column_stack([starts, ends])
