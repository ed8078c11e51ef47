"""How far a benchmark margin stands out from the spread of the suite it was measured on."""
from __future__ import annotations

import numpy as np
import pandas as pd


def bootstrap_interval(differences: np.ndarray, level: float = 0.95, n_resamples: int = 10_000,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences, one per dataset or series (units drawn
    with replacement; seeded, so a printed interval is reproducible).

    References
    ----------
    Efron, B. and Tibshirani, R. J. *An Introduction to the Bootstrap*, chapter 13 (percentile intervals).
    Chapman & Hall, 1993.
    """
    differences = np.asarray(differences, dtype=float)
    if differences.size == 0:
        raise ValueError("no paired differences to bootstrap")
    draws = np.random.default_rng(seed).integers(0, differences.size, size=(n_resamples, differences.size))
    means = differences[draws].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


def interval_text(per_unit: pd.DataFrame, model: str, baseline: str, unit: str) -> str:
    """``[95% interval over N <unit> low to high]`` for ``model - baseline``, paired over the rows of
    ``per_unit`` (one row per dataset or series, one column per model) where both have a value."""
    paired = per_unit[[model, baseline]].dropna()
    low, high = bootstrap_interval((paired[model] - paired[baseline]).to_numpy())
    return f"[95% interval over {len(paired)} {unit} {low:+.4f} to {high:+.4f}]"
