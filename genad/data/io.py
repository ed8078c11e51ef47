"""Reading tables from ``.csv``, ``.parquet`` and ``.npz`` files."""
from __future__ import annotations

import os
import re
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genad.validation import as_labels, time_stamp_advice

if TYPE_CHECKING:
    import pandas as pd

#: Column names taken as the label (and kept out of the features) when no label column is named.
LABEL_COLUMNS = ("y", "label")
SUFFIXES = (".csv", ".parquet", ".npz")
#: The first bytes of every SQLite file: genad's results files, which no output may overwrite.
SQLITE_HEADER = b"SQLite format 3\x00"
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def as_path(value: Any, name: str = "path") -> Path:
    """``value`` (a ``str`` or ``os.PathLike``) as a :class:`~pathlib.Path`, or a TypeError naming ``name``."""
    if isinstance(value, bytes):
        raise TypeError(f"{name} must be a str or pathlib.Path, got bytes {value!r}; decode it first")
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or pathlib.Path, got {type(value).__name__} {value!r}")
    if isinstance(value, str) and not value.strip():  # Path("") would quietly be the current folder
        raise ValueError(f"{name} is empty; pass a path")
    return Path(value)


def read_table(path: str | Path, label_column: str | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Read features and, when present, labels from a file.

    - ``.npz``: arrays ``X`` (2-D) and optionally ``y`` (ADBench's format), or the array ``label_column``.
    - ``.csv`` / ``.parquet``: every column is a feature, except the label column: ``label_column``
      when given, else the one of :data:`LABEL_COLUMNS` present. A ``.csv`` needs a header row.

    Returns ``(X, y)`` with ``y`` None when the file has no labels. The file is checked here, naming it:
    at least one row and one feature column, numeric features, labels 0/1 (1 = anomaly) with one per row.
    NaN features pass (a time-series detector may fill them); the detector's door reports them.

    Raises
    ------
    FileNotFoundError
        No such file.
    TypeError
        ``path`` or ``label_column`` of the wrong type, or non-numeric features.
    ValueError
        An unsupported or unreadable file, a missing label column, or bad contents.
    """
    path = as_path(path)
    if label_column is not None and not isinstance(label_column, str):
        raise TypeError(f"label_column must be a column name (str), got {type(label_column).__name__} "
                        f"{label_column!r}")
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; pass a data file ({', '.join(SUFFIXES)})")
    if path.stat().st_size == 0:
        raise ValueError(f"data file {path} is empty (0 bytes)")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        compressed = " (a compressed file: decompress it first)" if suffix in (".gz", ".zip", ".bz2", ".xz") else ""
        raise ValueError(f"unsupported data file type {suffix!r} ({path}){compressed}; use .csv, .parquet or .npz")
    X, y, label = _read_npz(path, label_column) if suffix == ".npz" else _read_frame(path, suffix, label_column)
    if y is not None:
        _check_labels(y, len(X), f"{path}: the label column {label!r}")
    return X, y


def _read_frame(path: Path, suffix: str, label_column: str | None) -> tuple[Any, np.ndarray | None, str | None]:
    """Features (a DataFrame), labels and the label column's name of a ``.csv``/``.parquet`` file."""
    import pandas as pd

    try:
        frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except Exception as err:  # pandas and pyarrow raise many types for unreadable files
        raise ValueError(f"could not read {path}: {err}") from None
    if suffix == ".csv":
        _check_header(frame, path)
    label = label_column_of(list(frame.columns), path, label_column)
    features = frame if label is None else frame.drop(columns=[label])
    _check_frame(features, path, label)
    return features, None if label is None else frame[label].to_numpy(), label


def _check_header(frame: Any, path: Path) -> None:
    import pandas as pd

    # pandas reads rows longer than the header as an index column: the columns would shift silently
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        raise ValueError(f"{path}: the data rows have more fields than the header row {list(frame.columns)[:20]}")
    _warn_if_header_is_numbers([str(name) for name in frame.columns], path)


def _warn_if_header_is_numbers(names: list[str], path: Path) -> None:
    """A header row of numbers is either real names (wavelengths, thresholds) or, in a file without a header,
    its first data row read as names and so left out of the data. Both are valid CSV, so genad reads the file
    and warns; pandas' own names for unnamed columns (0, 1, 2, ...) are left alone."""
    if not names or not all(_NUMBER.fullmatch(name) for name in names):
        return
    if names == [str(i) for i in range(len(names))]:
        return
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    warnings.warn(f"every column name of {path} is a number ({shown}): if the file has no header row, its first "
                  f"data row was read as the column names and is not in the data; add a row of column names",
                  UserWarning, stacklevel=5)  # the caller of read_table


def label_column_of(columns: list[str], path: str | Path, label_column: str | None = None) -> str | None:
    """The label column among a table's ``columns``: ``label_column`` when given, else the one of
    :data:`LABEL_COLUMNS` present (None when none is); a clear error for a missing or ambiguous one."""
    if label_column is not None:
        if label_column not in columns:
            raise ValueError(f"label column {label_column!r} not in {path}; columns: {columns[:20]}")
        return label_column
    present = [c for c in LABEL_COLUMNS if c in columns]
    if len(present) > 1:  # the other one would silently become a feature
        raise ValueError(f"{path} has both {present[0]!r} and {present[1]!r} columns; name the label column "
                         f"with label_column (--label-column)")
    return present[0] if present else None


def _check_frame(features: Any, path: Path, label: str | None) -> None:
    import pandas as pd

    if len(features) == 0:
        raise ValueError(f"{path} has no data rows")
    if features.shape[1] == 0:
        raise ValueError(f"{path} has no feature columns (only the label column {label!r})")
    for column, dtype in features.dtypes.items():
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            numbers = pd.to_numeric(features[column], errors="coerce")
            example = features[column][numbers.isna() & features[column].notna()].iloc[:1].tolist()
            if _all_dates(features[column]):
                first = features[column].dropna().iloc[0]
                raise TypeError(f"{path}: column {column!r} holds time stamps ({str(first)!r}, ...), which are not "
                                f"a feature: read the file with pandas and {time_stamp_advice(column)}")
            raise TypeError(f"{path}: column {column!r} is not numeric (it holds {example or 'text'}); "
                            f"encode text/categorical columns as numbers first")


def _all_dates(column: Any) -> bool:
    """Whether the first 1,000 non-empty values of a column all read as dates and times."""
    import pandas as pd

    values = column.dropna().iloc[:1000]
    try:
        return len(values) > 0 and bool(pd.to_datetime(values, errors="coerce", format="mixed").notna().all())
    except (TypeError, ValueError):
        return False


def _read_npz(path: Path, label_column: str | None) -> tuple[np.ndarray, np.ndarray | None, str]:
    """``X``, the labels (None when absent) and the label array's name of an ``.npz`` file."""
    # np.load takes any non-zip file for a pickle and says so; a plain message fits better
    if not zipfile.is_zipfile(path):
        raise ValueError(f"could not read {path} as .npz: it is not a numpy .npz (zip) archive")
    key = label_column or "y"
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.keys())
            X = archive["X"] if "X" in names else None
            y = archive[key] if key in names else None
    except Exception as err:  # zipfile, zlib and numpy raise many types for a damaged archive
        raise ValueError(f"could not read {path} as .npz: {type(err).__name__}: {err}") from None
    if X is None:
        raise ValueError(f"{path} has no array 'X' (found {names})")
    if label_column is not None and y is None:
        raise ValueError(f"label array {label_column!r} not in {path}; arrays: {names}")
    _check_npz_arrays(path, X, y, key)
    return X, y, key


def _check_npz_arrays(path: Path, X: Any, y: Any, key: str) -> None:
    for name, array in (("X", X), (key, y)):
        if array is not None and not isinstance(array, np.ndarray):  # a member that is not a .npy file
            raise ValueError(f"{path}: member {name!r} is not a numpy array")
    if X.ndim != 2:
        raise ValueError(f"{path}: array 'X' must be 2-D (n_rows, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{path}: array 'X' is empty (shape {X.shape})")
    if X.dtype != bool and not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"{path}: array 'X' must be numeric, got dtype {X.dtype}")


def _check_labels(y: Any, n_rows: int, where: str) -> None:
    """Labels must be 0/1, one per row; the returned labels keep their dtype (ADBench's are float)."""
    try:
        as_labels(y, n_rows, name=where)
    except TypeError:  # np.unique cannot sort mixed objects (None among numbers) to list them
        raise ValueError(f"{where} must hold 0 (normal) and 1 (anomaly) only; map them to 0/1 first") from None
    except ValueError as err:
        raise ValueError(f"{err}; map them to 0/1 first" if "0 (normal)" in str(err) else str(err)) from None


# --- files out: checked before any work starts, so nothing is lost ---------------------------------
def column_names(X: Any) -> list[str]:
    """The feature names of a table read by :func:`read_table` (``x0, x1, ...`` for an ``.npz`` array)."""
    return [str(c) for c in X.columns] if hasattr(X, "columns") else [f"x{i}" for i in range(np.shape(X)[1])]


def check_table_suffix(path: str | Path, what: str) -> Path:
    """``path`` as a Path when it names a ``.csv`` or ``.parquet`` file, the tables genad writes; else a
    ValueError naming ``what`` (checked before the work that makes the table)."""
    path = as_path(path)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"cannot write {what} to {path}: use a .csv or .parquet file name")
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """A pandas DataFrame to a ``.csv`` or ``.parquet`` file, by the suffix of ``path``, without its index."""
    path = check_table_suffix(path, "a table")
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def is_sqlite_file(path: str | Path) -> bool:
    """Whether ``path`` is an existing file that starts with SQLite's header (a results file or another database)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:  # missing, a folder or unreadable: nothing there that this check protects
        return False


def check_output_file(path: str | Path, what: str, *, inputs: Iterable[str | Path | None] = (),
                      make_parents: bool = False) -> Path:
    """Check, before any work starts, that ``what`` can be written to ``path`` without losing anything.

    Parameters
    ----------
    path : the file about to be written (a str or path-like).
    what : how error messages call it (e.g. ``"the HTML report"``).
    inputs : files the command reads (``None`` entries are skipped); writing over one of them is refused.
    make_parents : whether missing folders above ``path`` will be created (else they are an error).

    Returns
    -------
    ``path`` as a :class:`~pathlib.Path`; raises ``ValueError`` naming the problem otherwise. An existing
    SQLite file is never a valid output: it is a results file (or someone's database) that would be lost.
    """
    path = as_path(path)
    cannot = f"cannot write {what} to {path}"
    if path.is_dir():
        raise ValueError(f"{cannot}: it is a folder; give a file name")
    for source in inputs:
        if source is not None and _same_file(path, Path(source)):
            raise ValueError(f"{cannot}: it is the input file {source}, which would be lost; choose another name")
    if is_sqlite_file(path):
        raise ValueError(f"{cannot}: it is an existing SQLite file (a results file?); it was left untouched")
    # the nearest folder that exists: a file there (``data.csv/out.html``) makes every write below it fail
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path("."))
    if not folder.is_dir():
        raise ValueError(f"{cannot}: {folder} is a file, not a folder")
    if folder != path.parent and not make_parents:
        raise ValueError(f"{cannot}: the folder {path.parent} does not exist")
    return path


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (also through links or different spellings)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False
