"""A small periodic multichannel series shared by the time-series model tests."""
from __future__ import annotations

import numpy as np


def periodic_series(n: int = 500, seed: int = 0, periods: tuple[float, float, float] = (6, 4, 9)) -> np.ndarray:
    """``(n, 3)`` float32: sin, cos and sin of ``t / period`` for the three periods, plus N(0, 0.05^2) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    a, b, c = periods
    return (np.c_[np.sin(t / a), np.cos(t / b), np.sin(t / c)] + 0.05 * rng.normal(size=(n, 3))).astype(np.float32)
