"""Sliding windows over a ``(T, D)`` series and the fold-back of window scores to one score per step.

Every time-series detector in genad sees its series through these two functions, so that window
indexing, the short-series error and the mapping back to time steps exist once.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from genad.validation import FLOAT32_MAX, check_float, check_int, to_numeric_array

FILL_METHODS = ("ffill", "linear")


def window_starts(n_steps: int, length: int, stride: int = 1) -> np.ndarray:
    """Start index of each window; the last window always ends at the last step (no step is left out)."""
    check_int("n_steps", n_steps, low=0)
    check_int("length", length, low=1)
    check_int("stride", stride, low=1)
    if n_steps < length:
        raise ValueError(f"the series has {n_steps} time step(s), fewer than one window of length {length}")
    starts = np.arange(0, n_steps - length + 1, stride)
    if starts[-1] != n_steps - length:
        starts = np.append(starts, n_steps - length)
    return starts


def sliding_windows(X: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """Windows of a ``(T, D)`` series as an ``(N, length, D)`` array (a copy only when stride > 1)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"a series must be 2-D (T, D), got shape {X.shape}")
    starts = window_starts(X.shape[0], length, stride)
    view = np.lib.stride_tricks.sliding_window_view(X, length, axis=0)  # (T-L+1, D, L)
    return view[starts].transpose(0, 2, 1)


def fold_back(scores: Any, n_steps: int, length: int, stride: int = 1, how: str = "mean") -> np.ndarray:
    """Per-step values from per-window values.

    ``scores`` is ``(N,)`` (one score per window, spread over the steps it covers), ``(N, length)``
    (one score per position in each window) or ``(N, length, D)`` (e.g. a reconstructed window);
    the result is ``(n_steps,)`` or ``(n_steps, D)``. ``how="mean"`` averages every window covering a
    step; ``how="last"`` takes, for each step, the window covering it at its latest position (the
    window ending at that step when one exists), as forecasting and OmniAnomaly-style models score
    the newest point of each window.
    """
    if scores is None:
        raise TypeError("scores are missing (got None); pass one value per window")
    values = to_numeric_array(scores, "scores").astype(np.float64, copy=False)
    if values.ndim not in (1, 2, 3):
        raise ValueError(f"window scores must be (N,), (N, {length}) or (N, {length}, D), got shape {values.shape}")
    if not np.isfinite(values).all():  # a NaN would spread silently over every step its window covers
        raise ValueError(f"window scores contain {int((~np.isfinite(values)).sum())} NaN or infinite value(s)")
    return fold_windows(values, n_steps, length, stride, how)


def fold_windows(scores: np.ndarray, n_steps: int, length: int, stride: int, how: str) -> np.ndarray:
    """:func:`fold_back` without the checks on ``scores``: the detectors' own path, whose non-finite
    scores are reported afterwards as a numerically unstable model, not as bad input."""
    starts = window_starts(n_steps, length, stride)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape[0] != starts.size:
        raise ValueError(f"got {scores.shape[0]} window scores for {starts.size} windows")
    if scores.ndim == 1:
        scores = np.repeat(scores[:, None], length, axis=1)
    if scores.shape[1] != length:
        raise ValueError(f"window scores must be (N,), (N, {length}) or (N, {length}, D), got {scores.shape}")
    if how not in ("mean", "last"):
        raise ValueError(f"how must be 'mean' or 'last', got {how!r}")
    out = np.zeros((n_steps, *scores.shape[2:]))
    count = np.zeros(n_steps)
    for position in range(length):  # starts are distinct, so each assignment below has no duplicates
        steps = starts + position
        if how == "mean":
            out[steps] += scores[:, position]
            count[steps] += 1
        else:  # positions run upwards, so each step ends with its largest position: the newest point
            out[steps] = scores[:, position]
            count[steps] = 1
    if how == "mean":
        out /= count.reshape(-1, *([1] * (out.ndim - 1)))
    return out


def check_fill(fill: Any) -> None:
    """``fill`` is None, ``"ffill"``, ``"linear"`` or a finite real number (not a bool), or a clear error."""
    if fill is None:
        return
    if isinstance(fill, str):
        if fill not in FILL_METHODS:
            raise ValueError(f"fill must be None, 'ffill', 'linear' or a number, got {fill!r}")
        return
    try:
        check_float("fill", fill)  # a bool is refused, and so is NaN: it would fill a gap with a gap
    except TypeError:
        raise TypeError(f"fill must be None, 'ffill', 'linear' or a number, got {fill!r}") from None
    if abs(fill) > FLOAT32_MAX:
        raise ValueError(f"fill={fill!r} is beyond the float32 range (±{FLOAT32_MAX:.3g}) the models compute in")


def fill_gaps(X: Any, fill: str | float | None) -> np.ndarray:
    """Fill NaN gaps of a ``(T,)`` or ``(T, D)`` series: ``None`` raises, ``"ffill"`` carries the last value
    forward (then back-fills a leading gap), ``"linear"`` interpolates per channel, a number is used as is."""
    check_fill(fill)
    if X is None:
        raise TypeError("X is missing (got None); pass a (T, D) series")
    X = np.array(to_numeric_array(X, "X"), dtype=np.float64, copy=True)
    if X.ndim not in (1, 2):
        raise ValueError(f"a series must be 1-D (T,) or 2-D (T, D), got shape {X.shape}")
    gaps = np.isnan(X)
    if not gaps.any():
        return X
    if fill is None:
        raise ValueError(f"the series has {int(gaps.sum())} NaN value(s) (gaps); pass fill='ffill', "
                         "'linear' or a number to fill them")
    if isinstance(fill, str):
        import pandas as pd

        frame = pd.DataFrame(X)
        if fill == "ffill":
            frame = frame.ffill().bfill()
        else:
            frame = frame.interpolate(method="linear", limit_direction="both")
        X = frame.to_numpy().reshape(X.shape)  # a 1-D series went through a one-column frame
        if np.isnan(X).any():
            raise ValueError("a channel of the series is entirely NaN; nothing to fill it from")
        return X
    X[gaps] = float(fill)
    return X


def training_range(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel minimum and range of a training series, float32; a constant channel gets range 1.

    Models whose decoders end in a sigmoid (USAD, TranAD) min-max scale their windows with these, as
    their papers scale the data to [0, 1]: a sigmoid cannot reach the standardised series' negative values.
    """
    low = X.min(axis=0)
    span = X.max(axis=0) - low
    return low.astype(np.float32), np.where(span > 0, span, 1.0).astype(np.float32)
