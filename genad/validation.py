"""Checks at the API's door: every input is validated here, before any model sees it.

Errors name the problem (``ValueError`` for bad values, ``TypeError`` for bad types), so nothing
crashes deep inside torch and no NaN score ever comes out.
"""
from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import numpy as np

#: The largest value genad's models compute with (they work in float32).
FLOAT32_MAX = float(np.finfo(np.float32).max)


def as_2d_float(X: Any, *, name: str = "X", min_rows: int = 1, n_features: int | None = None) -> np.ndarray:
    """Return ``X`` as a finite float32 ``(n_rows, n_features)`` array or raise a clear error.

    Accepts numpy arrays, pandas DataFrames, torch tensors, nested lists and paths to
    ``.csv``/``.parquet``/``.npz`` files (read by :func:`genad.data.read_table`).
    """
    if isinstance(X, (str, Path)):
        from genad.data import read_table

        X, _ = read_table(X)
    X = to_numeric_array(X, name)
    if X.ndim != 2:
        hint = ""
        if X.ndim == 1:  # one row of a fitted detector's width, or one feature of many rows
            hint = (" (one row: X.reshape(1, -1))" if n_features is not None and X.size == n_features
                    else " (a single feature: X.reshape(-1, 1); a single row: X.reshape(1, -1))")
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got an array of shape {X.shape}{hint}")
    if X.shape[0] < min_rows:
        raise ValueError(f"{name} has {X.shape[0]} row(s); at least {min_rows} are needed")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {X.shape})")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the detector was fitted with {n_features}")
    with np.errstate(over="ignore"):  # an overflow is reported below, by name
        as_float32 = X.astype(np.float32, copy=False)
    if not np.isfinite(as_float32).all():
        if np.isfinite(X).all():  # finite, but too large for the float32 the models compute in
            raise ValueError(f"{name} has values beyond the float32 range (|x| > {FLOAT32_MAX:.3g}); "
                             "rescale the features")
        bad = int((~np.isfinite(X)).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); impute or drop them first")
    return np.ascontiguousarray(as_float32)


def to_numeric_array(X: Any, name: str) -> np.ndarray:
    """``X`` (numpy, pandas, torch, nested lists) as a real numeric numpy array, or a clear TypeError."""
    module = type(X).__module__
    if module.startswith("pandas"):
        X = _numeric_frame(X, name)
    elif module.startswith("torch"):
        X = X.detach().cpu()
        X = (X.float() if str(X.dtype) == "torch.bfloat16" else X).numpy()  # numpy has no bfloat16
    elif module.startswith("scipy.sparse"):
        raise TypeError(f"{name} is a scipy sparse matrix; pass a dense array ({name}.toarray())")
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{name} could not be read as a numeric array: {err}") from None
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if not (np.issubdtype(arr.dtype, np.number)):
        raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}; encode text/categorical columns first")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}")
    return arr


def _numeric_frame(frame: Any, name: str) -> np.ndarray:
    import pandas as pd

    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    bad = [str(c) for c, dtype in frame.dtypes.items()
           if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))]
    if bad:
        times = [str(c) for c, dtype in frame.dtypes.items() if pd.api.types.is_datetime64_any_dtype(dtype)]
        hint = f"; time stamps {times} are not a feature: {time_stamp_advice(times[0])}" if times else ""
        raise TypeError(f"{name} has non-numeric column(s) {bad}; encode them as numbers first{hint}")
    return frame.to_numpy(dtype=np.float64)


def time_stamp_advice(column: str) -> str:
    """How to keep a time-stamp column out of the features (time-series detectors take rows in time order)."""
    return f"make it the index (frame.set_index({column!r})) or drop it"


def as_scores(scores: Any, *, name: str = "scores", min_size: int = 1, need: str = "") -> np.ndarray:
    """Return ``scores`` as a finite 1-D float64 array (raveled) or raise a clear error.

    Parameters
    ----------
    scores : array-like of real numbers (numpy, list, pandas, torch).
    name : how error messages call the array.
    min_size : the fewest values accepted (0 allows an empty array).
    need : why ``min_size`` values are needed, appended to the error message.
    """
    if scores is None:
        raise TypeError(f"{name} are missing (got None); pass a numeric array")
    values = to_numeric_array(scores, name).astype(np.float64, copy=False).ravel()
    if values.size < min_size:
        detail = "are empty" if values.size == 0 else f"have {values.size} value(s)"
        wanted = "" if min_size == 1 else f"; at least {min_size} are needed{need}"
        raise ValueError(f"{name} {detail}{wanted}")
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise ValueError(f"{name} contain {bad} NaN or infinite value(s)")
    return values


def as_1d(values: Any, name: str, what: str = "value") -> np.ndarray:
    """``values`` as a 1-D numeric array, one ``what`` each; an ``(n, 1)`` column is accepted.

    Any other shape is a clear error: flattening a ``(50, 2)`` array against 100 scores would pair the
    wrong entries silently.
    """
    if values is None:
        raise TypeError(f"{name} are missing (got None); pass one {what} each")
    array = to_numeric_array(values, name)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one {what} each (or an (n, 1) column), got shape {array.shape}")
    return array


def as_labels(y: Any, n_rows: int | None = None, *, name: str = "y", hint: str = "") -> np.ndarray:
    """Binary 0/1 labels (1 = anomaly) as a 1-D int64 array, of length ``n_rows`` when it is given."""
    y = as_1d(y, name, "0/1 label")
    if n_rows is not None and y.shape[0] != n_rows:
        raise ValueError(f"{name} has {y.shape[0]} labels but X has {n_rows} rows")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name} must hold 0 (normal) and 1 (anomaly) only, got values {np.unique(y)[:10]}{hint}")
    return y.astype(np.int64)


# --- parameter checks: each returns None or raises naming the parameter -----------------------

def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    _check_bounds(name, value, low, high, low_closed=True)


def check_float(name: str, value: Any, low: float | None = None, high: float | None = None,
                *, low_closed: bool = True, high_closed: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    _check_bounds(name, value, low, high, low_closed=low_closed, high_closed=high_closed)


def check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def check_dims(name: str, value: Any) -> None:
    """A non-empty sequence of positive layer widths."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) == 0:
        raise TypeError(f"{name} must be a non-empty sequence of positive integers, got {value!r}")
    for width in value:
        check_int(f"{name} entries", width, low=1)


def _check_bounds(name, value, low, high, *, low_closed=True, high_closed=True) -> None:
    too_low = low is not None and (value < low if low_closed else value <= low)
    too_high = high is not None and (value > high if high_closed else value >= high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'[' if low_closed else '('}{lo}, {hi}{']' if high_closed else ')'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
