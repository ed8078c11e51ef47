"""Streams in arrival order: NSL-KDD, MemStream's synthetic streams and ADBench files read as streams.

Every loader returns ``(X, y)``: ``X`` a float32 ``(n_records, n_features)`` array in the order the
records arrive, ``y`` 0/1 labels (1 = anomaly). Files are found under ``data_dir`` (default: the
shared data folder, see :func:`genad.bench.datasets.candidate_data_dirs`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

NSL_KDD_FILES = ("KDDTrain+_20Percent.txt", "KDDTest+.txt")
NSL_KDD_SYMBOLIC = (1, 2, 3)  # protocol_type, service, flag
NSL_KDD_CLASS, NSL_KDD_DIFFICULTY = 41, 42

#: The ADBench Classical files the MemStream paper also used (its "statlog" is ADBench's satellite).
MEMSTREAM_ADBENCH = ("ionosphere", "cardio", "satimage-2", "mammography", "pima", "cover", "http", "smtp")
_ADBENCH_FILES = {"ionosphere": "18_Ionosphere", "cardio": "6_cardio", "satimage-2": "31_satimage-2",
                  "mammography": "23_mammography", "pima": "29_Pima", "cover": "10_cover",
                  "http": "16_http", "smtp": "34_smtp"}


def stream_data_dir(data_dir: str | Path | None = None) -> Path:
    """The shared data folder (the one holding ``streaming/``); a clear error when none is found."""
    from genad.bench.datasets import candidate_data_dirs

    looked = []
    for base in candidate_data_dirs(data_dir):
        looked.append(str(base))
        if (base / "streaming").is_dir():
            return base
    raise FileNotFoundError("no folder with streaming/ found; looked in " + ", ".join(looked)
                            + " (set GENAD_DATA or pass data_dir)")


def load_nsl_kdd(data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """NSL-KDD as one stream: the 20% training file then the test file, in file order.

    The three symbolic fields are one-hot encoded (categories from both files, sorted), the
    difficulty column is dropped, and the label is 0 for ``normal`` and 1 for any attack.
    """
    import pandas as pd

    folder = stream_data_dir(data_dir) / "streaming" / "nsl_kdd"
    frame = pd.concat([pd.read_csv(folder / name, header=None) for name in NSL_KDD_FILES], ignore_index=True)
    y = (frame[NSL_KDD_CLASS] != "normal").to_numpy(np.int64)
    features = frame.drop(columns=[NSL_KDD_CLASS, NSL_KDD_DIFFICULTY])
    encoded = pd.get_dummies(features, columns=list(NSL_KDD_SYMBOLIC), dtype=np.float32)
    return encoded.to_numpy(np.float32), y


def load_memstream_syn(data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MemStream's labelled synthetic stream SYN: 10,000 univariate records, 1,000 anomalies."""
    folder = stream_data_dir(data_dir) / "streaming" / "memstream"
    X = np.loadtxt(folder / "syn.txt", delimiter=",", dtype=np.float32).reshape(-1, 1)
    return X, np.loadtxt(folder / "synlabel.txt").astype(np.int64)


def load_concept_drift(data_dir: str | Path | None = None, share: float = 0.01,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """MemStream's concept-drift stream (20,000 records, no anomalies, no labels) with planted spikes.

    The file has only drifting normal behaviour, so genad plants point anomalies to score it: a
    seeded ``share`` of the records (never in the first 2,000) get ``+-(1.5 + U(0, 1))`` added.
    These labels are genad's, not MemStream's.
    """
    folder = stream_data_dir(data_dir) / "streaming" / "memstream"
    X = np.loadtxt(folder / "conceptdriftdata.txt", dtype=np.float32).reshape(-1, 1)
    rng = np.random.default_rng(seed)
    n_planted = int(round(share * len(X)))
    where = rng.choice(np.arange(2000, len(X)), size=n_planted, replace=False)
    X[where, 0] += (rng.choice([-1.0, 1.0], n_planted) * (1.5 + rng.random(n_planted))).astype(np.float32)
    y = np.zeros(len(X), dtype=np.int64)
    y[where] = 1
    return X, y


def load_adbench_stream(name: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """An ADBench Classical file read as a stream in its stored row order (no shuffling, no capping)."""
    if name not in _ADBENCH_FILES:
        raise ValueError(f"unknown ADBench stream {name!r}; expected one of {sorted(_ADBENCH_FILES)}")
    path = stream_data_dir(data_dir) / "adbench_classical" / f"{_ADBENCH_FILES[name]}.npz"
    with np.load(path) as archive:
        return archive["X"].astype(np.float32), archive["y"].astype(np.int64)


def load_stream(name: str, data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A stream of the ``streams`` suite by name (see :data:`STREAMS`)."""
    if name == "nsl_kdd":
        return load_nsl_kdd(data_dir)
    if name == "syn":
        return load_memstream_syn(data_dir)
    if name == "concept_drift":
        return load_concept_drift(data_dir)
    return load_adbench_stream(name, data_dir)


STREAMS = ("nsl_kdd", "syn", "concept_drift", *MEMSTREAM_ADBENCH)
