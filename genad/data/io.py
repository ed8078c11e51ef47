"""Reading tables from ``.csv``, ``.parquet`` and ``.npz`` files."""
from __future__ import annotations

from pathlib import Path

import numpy as np

#: Column names taken as the label (and kept out of the features) when no label column is named.
LABEL_COLUMNS = ("y", "label")


def read_table(path: str | Path, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read features and, when present, labels from a file.

    - ``.npz``: arrays ``X`` and optionally ``y`` (ADBench's format).
    - ``.csv`` / ``.parquet``: every column is a feature, except the label column: ``label_column``
      when given, else the first of :data:`LABEL_COLUMNS` present.

    Returns ``(X, y)`` with ``y`` None when the file has no labels. Feature dtypes are checked
    later, by the detector that receives them.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _read_npz(path, label_column)
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"unsupported data file type {suffix!r} ({path}); use .csv, .parquet or .npz")
    import pandas as pd

    try:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as err:
        raise ValueError(f"could not read {path}: {err}") from None
    if label_column is not None and label_column not in frame.columns:
        raise ValueError(f"label column {label_column!r} not in {path}; columns: {list(frame.columns)[:20]}")
    label = label_column or next((c for c in LABEL_COLUMNS if c in frame.columns), None)
    if label is None:
        return frame, None
    return frame.drop(columns=[label]), frame[label].to_numpy()


def _read_npz(path: Path, label_column: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as err:
        raise ValueError(f"could not read {path} as .npz: {err}") from None
    with archive:
        if "X" not in archive:
            raise ValueError(f"{path} has no array 'X' (found {list(archive.keys())})")
        key = label_column or "y"
        y = archive[key] if key in archive else None
        return archive["X"], y
