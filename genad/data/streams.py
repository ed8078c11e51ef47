"""Streams in arrival order: NSL-KDD, MemStream's synthetic streams and ADBench files read as streams.

Every loader returns ``(X, y)``: ``X`` a float32 ``(n_records, n_features)`` array in the order the
records arrive, ``y`` 0/1 labels (1 = anomaly). Files are found under ``data_dir`` (default: the
shared data folder, see :func:`genad.bench.datasets.candidate_data_dirs`).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from genad.data.io import as_path, read_table
from genad.validation import as_labels, check_float, check_int

NSL_KDD_FILES = ("KDDTrain+_20Percent.txt", "KDDTest+.txt")
NSL_KDD_SYMBOLIC = (1, 2, 3)  # protocol_type, service, flag
NSL_KDD_CLASS, NSL_KDD_DIFFICULTY = 41, 42
DRIFT_QUIET = 2000  # the concept-drift stream's first records, where no anomaly is planted

#: The ADBench Classical files the MemStream paper also used (its "statlog" is ADBench's satellite).
MEMSTREAM_ADBENCH = ("ionosphere", "cardio", "satimage-2", "mammography", "pima", "cover", "http", "smtp")
_ADBENCH_FILES = {"ionosphere": "18_Ionosphere", "cardio": "6_cardio", "satimage-2": "31_satimage-2",
                  "mammography": "23_mammography", "pima": "29_Pima", "cover": "10_cover",
                  "http": "16_http", "smtp": "34_smtp"}


def stream_data_dir(data_dir: str | Path | None = None, sub: str = "streaming") -> Path:
    """The shared data folder (the one holding ``sub``, by default ``streaming/``); a clear error when none is."""
    from genad.bench.datasets import candidate_data_dirs

    looked = []
    for base in candidate_data_dirs(None if data_dir is None else as_path(data_dir, "data_dir")):
        looked.append(str(base))
        if (base / sub).is_dir():
            return base
    raise FileNotFoundError(f"no folder with {sub}/ found; looked in " + ", ".join(looked)
                            + " (set GENAD_DATA or pass data_dir)")


def load_nsl_kdd(data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """NSL-KDD as one stream: the 20% training file then the test file, in file order.

    The three symbolic fields are one-hot encoded (categories from both files, sorted), the
    difficulty column is dropped, and the label is 0 for ``normal`` and 1 for any attack.
    """
    import pandas as pd

    folder = stream_data_dir(data_dir) / "streaming" / "nsl_kdd"
    frame = pd.concat([_nsl_kdd_file(folder / name) for name in NSL_KDD_FILES], ignore_index=True)
    y = (frame[NSL_KDD_CLASS] != "normal").to_numpy(np.int64)
    features = frame.drop(columns=[NSL_KDD_CLASS, NSL_KDD_DIFFICULTY])
    encoded = pd.get_dummies(features, columns=list(NSL_KDD_SYMBOLIC), dtype=np.float32)
    return encoded.to_numpy(np.float32), y


def _nsl_kdd_file(path: Path):
    """One NSL-KDD file: 43 fields a record, none missing, numbers outside the symbolic and class fields."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"missing NSL-KDD file {path}")
    try:
        frame = pd.read_csv(path, header=None)
    except Exception as err:  # pandas raises many types for unreadable files
        raise ValueError(f"could not read NSL-KDD file {path}: {err}") from None
    # a short record would otherwise become NaN features and an "attack" label
    if frame.shape[1] != NSL_KDD_DIFFICULTY + 1 or frame.isna().any().any():
        raise ValueError(f"NSL-KDD file {path}: every record must have {NSL_KDD_DIFFICULTY + 1} fields, none empty")
    numeric = frame.drop(columns=[*NSL_KDD_SYMBOLIC, NSL_KDD_CLASS])
    bad = [c for c, dtype in numeric.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if bad:
        raise ValueError(f"NSL-KDD file {path}: field(s) {bad} (0-based) hold values that are not numbers")
    return frame


def _read_column(path: Path, what: str) -> np.ndarray:
    """A one-column text file of numbers as a 1-D float array, or an error naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"missing {what} file {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # numpy only warns about an empty file
            values = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=1)
    except Exception as err:  # text that is not numbers, an empty or binary file
        raise ValueError(f"could not read {what} file {path}: {err}") from None
    if values.ndim != 1:
        raise ValueError(f"{what} file {path} must hold one value a line, got {values.shape[1]} columns")
    return values


def load_memstream_syn(data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MemStream's labelled synthetic stream SYN: 10,000 univariate records, 1,000 anomalies."""
    folder = stream_data_dir(data_dir) / "streaming" / "memstream"
    X = _read_column(folder / "syn.txt", "SYN").astype(np.float32).reshape(-1, 1)
    y = _read_column(folder / "synlabel.txt", "SYN label")
    if len(y) != len(X):
        raise ValueError(f"{folder / 'synlabel.txt'} has {len(y)} labels but {folder / 'syn.txt'} has {len(X)} records")
    return X, as_labels(y, len(X), name=str(folder / "synlabel.txt"))


def load_concept_drift(data_dir: str | Path | None = None, share: float = 0.01,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MemStream's concept-drift stream (20,000 records, no anomalies, no labels) with planted spikes.

    The file has only drifting normal behaviour, so genad plants point anomalies to score it: a
    seeded ``share`` of the records (never in the first 2,000) get ``+-(1.5 + U(0, 1))`` added.
    These labels are genad's, not MemStream's.
    """
    check_float("share", share, 0.0, 1.0)
    check_int("seed", seed, low=0)
    folder = stream_data_dir(data_dir) / "streaming" / "memstream"
    X = _read_column(folder / "conceptdriftdata.txt", "concept-drift").astype(np.float32).reshape(-1, 1)
    rng = np.random.default_rng(seed)
    n_planted = int(round(share * len(X)))
    if n_planted > max(len(X) - DRIFT_QUIET, 0):
        raise ValueError(f"cannot plant {n_planted} anomalies after the first {DRIFT_QUIET} of the {len(X)} records "
                         f"of {folder / 'conceptdriftdata.txt'}; lower share")
    where = rng.choice(np.arange(DRIFT_QUIET, len(X)), size=n_planted, replace=False)
    X[where, 0] += (rng.choice([-1.0, 1.0], n_planted) * (1.5 + rng.random(n_planted))).astype(np.float32)
    y = np.zeros(len(X), dtype=np.int64)
    y[where] = 1
    return X, y


def load_adbench_stream(name: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """An ADBench Classical file read as a stream in its stored row order (no shuffling, no capping)."""
    if name not in _ADBENCH_FILES:
        raise ValueError(f"unknown ADBench stream {name!r}; expected one of {sorted(_ADBENCH_FILES)}")
    path = stream_data_dir(data_dir, "adbench_classical") / "adbench_classical" / f"{_ADBENCH_FILES[name]}.npz"
    X, y = read_table(path)  # checks the file: a 2-D numeric X, and 0/1 labels y, one a row
    if y is None:
        raise ValueError(f"{path} has no labels (array 'y')")
    return X.astype(np.float32), y.astype(np.int64)


def load_stream(name: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A stream of the ``streams`` suite by name (see :data:`STREAMS`)."""
    if not isinstance(name, str):
        raise TypeError(f"a stream name must be a str, one of {STREAMS}; got {type(name).__name__} {name!r}")
    if name not in STREAMS:
        raise ValueError(f"unknown stream {name!r}; expected one of {STREAMS}")
    if name == "nsl_kdd":
        return load_nsl_kdd(data_dir)
    if name == "syn":
        return load_memstream_syn(data_dir)
    if name == "concept_drift":
        return load_concept_drift(data_dir)
    return load_adbench_stream(name, data_dir)


STREAMS = ("nsl_kdd", "syn", "concept_drift", *MEMSTREAM_ADBENCH)
