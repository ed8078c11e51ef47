"""Loaders for the time-series benchmarks: SMD and ASD (pickled arrays) and NAB (CSV + label windows).

Each loader returns a :class:`Series`: ``train`` and ``test`` ``(T, D)`` float32 arrays and 0/1
``labels`` for the test steps. The data folder is ``data_dir`` when given, else ``$GENAD_DATA``,
else ``../shared/data`` relative to the current directory or to the repository.
"""
from __future__ import annotations

import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Share of each NAB series used for training, as NAB's own detectors do ("probationary period").
NAB_TRAIN_FRACTION = 0.15


@dataclass
class Series:
    """One benchmark series: training part, test part and test labels (1 = anomaly)."""

    name: str
    train: np.ndarray
    test: np.ndarray
    labels: np.ndarray
    timestamps: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.labels.shape[0] != self.test.shape[0]:
            raise ValueError(f"{self.name}: {self.labels.shape[0]} labels for {self.test.shape[0]} test steps")


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The shared data folder, or a clear error naming every place looked at."""
    candidates = [Path(path)] if path is not None else []
    if path is None and os.environ.get("GENAD_DATA"):
        candidates.append(Path(os.environ["GENAD_DATA"]))
    if path is None:
        candidates += [Path.cwd() / ".." / "shared" / "data",
                       Path(__file__).resolve().parents[2] / ".." / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise FileNotFoundError("time-series data folder not found; looked in: " + ", ".join(map(str, candidates)))


def _unpickle(path: Path) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"missing data file {path}")
    with open(path, "rb") as handle:  # the shared data are trusted files (see PROVENANCE.md)
        return np.asarray(pickle.load(handle))


def _pickled_series(folder: Path, name: str) -> Series:
    train = _unpickle(folder / f"{name}_train.pkl").astype(np.float32)
    test = _unpickle(folder / f"{name}_test.pkl").astype(np.float32)
    labels = (_unpickle(folder / f"{name}_test_label.pkl") > 0.5).astype(np.int64)
    return Series(name, train, test, labels)


def smd_machines(root: str | os.PathLike | None = None) -> list[str]:
    """SMD machines whose measurements are present (e.g. ``machine-1-6``)."""
    folder = data_dir(root) / "smd" / "processed_interfusion"
    return sorted(p.name[: -len("_train.pkl")] for p in folder.glob("*_train.pkl"))


def load_smd(machine: str, root: str | os.PathLike | None = None) -> Series:
    """One SMD machine (38 metrics, ~24k train and ~24k test steps)."""
    return _pickled_series(data_dir(root) / "smd" / "processed_interfusion", machine)


def asd_entities(root: str | os.PathLike | None = None) -> list[str]:
    """ASD entities, ``omi-1`` .. ``omi-12``."""
    folder = data_dir(root) / "asd" / "processed"
    names = [p.name[: -len("_train.pkl")] for p in folder.glob("*_train.pkl")]
    return sorted(names, key=lambda n: int(n.split("-")[1]))


def load_asd(entity: str, root: str | os.PathLike | None = None) -> Series:
    """One ASD entity (19 metrics)."""
    return _pickled_series(data_dir(root) / "asd" / "processed", entity)


def nab_series(root: str | os.PathLike | None = None, *, with_anomalies: bool = True) -> list[str]:
    """NAB series keys (``realKnownCause/nyc_taxi.csv``); by default only those with labelled windows."""
    windows = _nab_windows(data_dir(root))
    return sorted(key for key, spans in windows.items() if spans or not with_anomalies)


def _nab_windows(root: Path) -> dict[str, list[list[str]]]:
    path = root / "nab" / "labels" / "combined_windows.json"
    if not path.exists():
        raise FileNotFoundError(f"missing NAB label file {path}")
    return json.loads(path.read_text())


def load_nab(key: str, root: str | os.PathLike | None = None,
             train_fraction: float = NAB_TRAIN_FRACTION) -> Series:
    """One NAB series: the first ``train_fraction`` of it trains, the rest is scored against the windows."""
    import pandas as pd

    root = data_dir(root)
    windows = _nab_windows(root)
    if key not in windows:
        raise ValueError(f"unknown NAB series {key!r}; e.g. {sorted(windows)[:3]}")
    frame = pd.read_csv(root / "nab" / "data" / key, parse_dates=["timestamp"])
    stamps = frame["timestamp"].to_numpy()
    labels = np.zeros(len(frame), dtype=np.int64)
    for start, end in windows[key]:
        labels[(stamps >= np.datetime64(pd.Timestamp(start))) & (stamps <= np.datetime64(pd.Timestamp(end)))] = 1
    values = frame["value"].to_numpy(dtype=np.float32)[:, None]
    split = int(round(len(frame) * train_fraction))
    return Series(key, values[:split], values[split:], labels[split:], stamps[split:])
