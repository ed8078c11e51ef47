"""Loaders for the time-series benchmarks: SMD and ASD (pickled arrays) and NAB (CSV + label windows).

Each loader returns a :class:`Series`: ``train`` and ``test`` ``(T, D)`` float32 arrays and 0/1
``labels`` for the test steps; SMD and ASD add ``channels``, which channels explain each anomalous step
(their interpretation labels), when the data folder has them. The data folder is ``data_dir`` when
given, else ``$GENAD_DATA``, else ``../shared/data`` relative to the current directory or to the
repository. Every file is checked as it is read (a damaged pickle, a channel count or label count that
does not match, labels other than 0/1, a malformed interpretation line), and an error names the file.
"""
from __future__ import annotations

import json
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genad.data.io import as_path
from genad.validation import as_labels, check_float, check_int, to_numeric_array

SMD_FOLDER = "smd/processed_interfusion"
ASD_FOLDER = "asd/processed"
#: Each pickled suite's measurements, and its interpretation labels (one ``<series>.txt`` per series).
PICKLED_FOLDERS = {"SMD": SMD_FOLDER, "ASD": ASD_FOLDER}
INTERPRETATION_FOLDERS = {"SMD": "smd/interpretation_label", "ASD": "asd/interpretation_label"}
NAB_WINDOWS = "nab/labels/combined_windows.json"

#: NAB's probationary period, which genad trains on: the first ``min(floor(0.15 * n), 750)`` rows of a
#: series of ``n`` rows (NAB's ``getProbationPeriod``: 15%, at most ``0.15 * 5000``). NAB's scorer ignores
#: those rows; genad scores every later row.
NAB_TRAIN_FRACTION = 0.15
NAB_MAX_TRAIN = 750


@dataclass
class Series:
    """One benchmark series: training part, test part and test labels (1 = anomaly); ``channels``, when
    known, is a ``(T_test, D)`` boolean array marking the channels that explain each anomalous step."""

    name: str
    train: np.ndarray
    test: np.ndarray
    labels: np.ndarray
    timestamps: np.ndarray | None = None
    channels: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.labels.shape[0] != self.test.shape[0]:
            raise ValueError(f"{self.name}: {self.labels.shape[0]} labels for {self.test.shape[0]} test steps")
        if self.channels is not None and self.channels.shape != self.test.shape:
            raise ValueError(f"{self.name}: channel labels of shape {self.channels.shape} for a test series of "
                             f"shape {self.test.shape}")


def data_dir(path: str | os.PathLike | None = None, sub: str | None = None) -> Path:
    """The data folder (the first that holds ``sub`` when given), or a clear error naming every place looked at.

    ``path`` when given, else ``$GENAD_DATA`` when set (a folder named there that does not exist is an
    error, not a reason to read other data), else ``../shared/data`` relative to the current directory
    or to the repository.
    """
    from genad.bench.datasets import candidate_data_dirs

    candidates = candidate_data_dirs(None if path is None else as_path(path, "the data folder"))
    for candidate in candidates:
        if (candidate / sub if sub else candidate).is_dir():
            return candidate.resolve()
    wanted = f"with {sub}/ " if sub else ""
    raise FileNotFoundError(f"time-series data folder {wanted}not found; looked in: "
                            + ", ".join(map(str, candidates)) + " (pass the folder or set GENAD_DATA)")


def _unpickle(path: Path) -> np.ndarray:
    """The numeric array pickled in ``path``; a damaged file or other contents is an error naming it."""
    if not path.is_file():
        raise FileNotFoundError(f"missing data file {path}")
    try:
        with open(path, "rb") as handle:  # the shared data are trusted files (see PROVENANCE.md)
            content = pickle.load(handle)
    except Exception as err:  # a damaged pickle raises anything from EOFError to ModuleNotFoundError
        raise ValueError(f"could not read {path}: a truncated or corrupt pickle "
                         f"({type(err).__name__}: {err})") from None
    return to_numeric_array(content, str(path))


def _pickled_series(root: Path, name: str, suite: str) -> Series:
    """The ``<name>_train/_test/_test_label.pkl`` triple of the suite's folder under ``root``, checked against
    each other, with the channel labels of ``<name>.txt`` in its interpretation folder when there is one."""
    folder = root / PICKLED_FOLDERS[suite]
    paths = [folder / f"{_series_name(name, suite)}_{part}.pkl" for part in ("train", "test", "test_label")]
    if not paths[0].is_file():
        known = sorted(_listed(folder))
        raise ValueError(f"unknown {suite} series {name!r} in {folder}; known: {', '.join(known) or 'none'}")
    train, test = (_series_array(_unpickle(p), p) for p in paths[:2])
    if train.shape[1] != test.shape[1]:
        raise ValueError(f"{name}: the training series has {train.shape[1]} channels ({paths[0]}) but the test "
                         f"series has {test.shape[1]} ({paths[1]})")
    raw = _unpickle(paths[2])
    if raw.ndim != 1 and raw.shape[1:] != (1,):
        raise ValueError(f"{paths[2]}: expected one label per test step, got an array of shape {raw.shape}")
    if raw.shape[0] != test.shape[0]:
        raise ValueError(f"{paths[2]} has {raw.shape[0]} labels but the test series ({paths[1]}) has "
                         f"{test.shape[0]} steps")
    labels = as_labels(raw, test.shape[0], name=str(paths[2]))
    interpretation = root / INTERPRETATION_FOLDERS[suite] / f"{name}.txt"
    channels = read_interpretation(interpretation, labels, test.shape[1]) if interpretation.is_file() else None
    return Series(name, train, test, labels, channels=channels)


def read_interpretation(path: Path, labels: np.ndarray, n_channels: int) -> np.ndarray:
    """The channels that explain each anomalous step, ``(T, D)`` boolean, from an interpretation file.

    Each line is ``start-end:c1,c2,...``: a range of test steps (0-based) and the 1-based channels that
    explain it. The range is read with both ends included, as InterFusion's scorer reads it, and only its
    labelled steps keep the channels: OmniAnomaly's SMD files end their ranges one step past the
    labelled anomaly, InterFusion's ASD files at its last step. A malformed line, a channel outside
    ``1..D`` or a range outside the series is an error naming the file and line.
    """
    channels = np.zeros((labels.size, n_channels), dtype=bool)
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number} ({line.strip()!r})"
        match = re.fullmatch(r"\s*(\d+)-(\d+)\s*:\s*(\d+(?:\s*,\s*\d+)*)\s*", line)
        if match is None:
            raise ValueError(f"{where}: expected 'start-end:channel,channel,...'")
        start, end = int(match[1]), int(match[2])
        dims = np.array([int(d) for d in match[3].split(",")])
        if start > end or end >= labels.size:
            raise ValueError(f"{where}: the range must lie within the {labels.size} test steps, start <= end")
        if dims.min() < 1 or dims.max() > n_channels:
            raise ValueError(f"{where}: channels are numbered 1..{n_channels}")
        steps = np.arange(start, end + 1)
        steps = steps[labels[steps] == 1]
        channels[np.ix_(steps, dims - 1)] = True
    return channels


def _series_name(name: str, suite: str) -> str:
    """A series name, which becomes part of a file name: no separators that would leave the folder."""
    example = {"SMD": "machine-1-6", "ASD": "omi-1"}.get(suite, "")
    if not isinstance(name, str):
        raise TypeError(f"the {suite} series name must be a str such as {example!r}, got {type(name).__name__} "
                        f"{name!r}")
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"bad {suite} series name {name!r}; pass a name such as {example!r}")
    return name


def _series_array(values: np.ndarray, path: Path) -> np.ndarray:
    """A stored ``(T, D)`` series as float32, or an error naming the file."""
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"{path}: expected a non-empty 2-D (time steps, channels) array, got shape {values.shape}")
    return values.astype(np.float32)


def _listed(folder: Path) -> list[str]:
    return [p.name[: -len("_train.pkl")] for p in folder.glob("*_train.pkl")]


def smd_machines(root: str | os.PathLike | None = None) -> list[str]:
    """SMD machines whose measurements are present (e.g. ``machine-1-6``)."""
    return sorted(_listed(data_dir(root, SMD_FOLDER) / SMD_FOLDER))


def load_smd(machine: str, root: str | os.PathLike | None = None) -> Series:
    """One SMD machine (38 metrics, ~24k train and ~24k test steps)."""
    return _pickled_series(data_dir(root, SMD_FOLDER), machine, "SMD")


def asd_entities(root: str | os.PathLike | None = None) -> list[str]:
    """ASD entities, ``omi-1`` .. ``omi-12`` (in number order; other names after them)."""
    def number_order(name: str) -> tuple:
        tail = name.rpartition("-")[2]
        return (0, int(tail), name) if tail.isdigit() else (1, 0, name)

    return sorted(_listed(data_dir(root, ASD_FOLDER) / ASD_FOLDER), key=number_order)


def load_asd(entity: str, root: str | os.PathLike | None = None) -> Series:
    """One ASD entity (19 metrics)."""
    return _pickled_series(data_dir(root, ASD_FOLDER), entity, "ASD")


def nab_series(root: str | os.PathLike | None = None, *, with_anomalies: bool = True) -> list[str]:
    """NAB series keys (``realKnownCause/nyc_taxi.csv``); by default only those with labelled windows."""
    windows = _nab_windows(data_dir(root, "nab"))
    return sorted(key for key, spans in windows.items() if spans or not with_anomalies)


def _nab_windows(root: Path) -> dict[str, list[list[str]]]:
    """NAB's label windows, ``{key: [[start, end], ...]}``, checked for that shape."""
    path = root / NAB_WINDOWS
    if not path.is_file():
        raise FileNotFoundError(f"missing NAB label file {path}")
    try:
        windows = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"could not read NAB label file {path}: {err}") from None
    ok = isinstance(windows, dict) and all(
        isinstance(spans, list) and all(isinstance(w, list) and len(w) == 2 for w in spans)
        for spans in windows.values())
    if not ok:
        raise ValueError(f"NAB label file {path} must map each series to a list of [start, end] windows")
    return windows


def load_nab(key: str, root: str | os.PathLike | None = None,
             train_fraction: float = NAB_TRAIN_FRACTION, max_train: int | None = NAB_MAX_TRAIN) -> Series:
    """One NAB series: its first ``min(floor(train_fraction * n), max_train)`` rows train (NAB's probationary
    period), the rest is scored against the windows (``max_train=None``: no cap).

    A step is labelled when its time stamp lies in a window, both ends included (NAB's rule; every window
    end is a time stamp of its file, and no file or label has a time zone). Only the scored steps keep
    labels: a window that starts in the training part counts from the first scored step, as NAB's scorer
    ignores its probationary rows. Eight files repeat time stamps at a daylight-saving change; even
    there, labels by time stamp equal labels by the row span from a window's start to its end.
    """
    check_float("train_fraction", train_fraction, 0.0, 1.0, low_closed=False, high_closed=False)
    if max_train is not None:
        check_int("max_train", max_train, low=1)
    if not isinstance(key, str):
        raise TypeError(f"a NAB series key must be a str such as 'realKnownCause/nyc_taxi.csv', got {key!r}")
    root = data_dir(root, "nab")
    windows = _nab_windows(root)
    if key not in windows:
        raise ValueError(f"unknown NAB series {key!r}; e.g. {sorted(windows)[:3]}")
    frame = _nab_frame(root / "nab" / "data" / key)
    stamps = frame["timestamp"].to_numpy()
    labels = np.zeros(len(frame), dtype=np.int64)
    for start, end in windows[key]:
        labels[(stamps >= _nab_time(start, key)) & (stamps <= _nab_time(end, key))] = 1
    values = frame["value"].to_numpy(dtype=np.float32)[:, None]
    split = int(np.floor(len(frame) * train_fraction))
    if max_train is not None:
        split = min(split, max_train)
    if split <= 0:  # a fraction below 1 always leaves test steps (floor)
        raise ValueError(f"train_fraction={train_fraction} leaves no training steps of the {len(frame)} in {key}")
    return Series(key, values[:split], values[split:], labels[split:], stamps[split:])


def _nab_frame(path: Path):
    """A NAB data file with its ``timestamp`` (dates) and ``value`` (numbers) columns checked."""
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"missing NAB data file {path} (its series is in the label file)")
    try:
        frame = pd.read_csv(path, parse_dates=["timestamp"])
    except Exception as err:  # pandas raises many types for unreadable files (a missing column included)
        raise ValueError(f"could not read NAB data file {path}: {err}") from None
    if "value" not in frame.columns:
        raise ValueError(f"NAB data file {path} has no 'value' column; columns: {list(frame.columns)}")
    if not pd.api.types.is_datetime64_any_dtype(frame["timestamp"]):
        raise ValueError(f"NAB data file {path}: the 'timestamp' column holds values that are not dates")
    if not pd.api.types.is_numeric_dtype(frame["value"]):
        raise ValueError(f"NAB data file {path}: the 'value' column holds values that are not numbers")
    if frame.empty:
        raise ValueError(f"NAB data file {path} has no rows")
    return frame


def _nab_time(text: str, key: str) -> np.datetime64:
    import pandas as pd

    try:
        return np.datetime64(pd.Timestamp(text))
    except (ValueError, TypeError) as err:
        raise ValueError(f"NAB label window of {key} has a bad time {text!r}: {err}") from None
