"""Datasets by name: ``adbench:<name>``, ``adbench:all`` and plain files (``.npz``, ``.csv``, ``.parquet``).

The ADBench Classical ``.npz`` files are found in a data directory: ``--data-dir``, else the environment
variable ``GENAD_DATA``, else ``../shared/data`` relative to the current directory or to the repository.
Either the directory itself or its ``adbench_classical`` sub-folder may hold the files.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ADBENCH_PREFIX = "adbench:"
ADBENCH_FOLDER = "adbench_classical"
_NUMBER_PREFIX = re.compile(r"^\d+_")


@dataclass(frozen=True)
class DatasetRef:
    """A dataset the runner can load: its short ``name`` (the results key) and its file."""

    name: str
    path: str
    label_column: str | None = None


def candidate_data_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """Where the data directory is looked for, in order."""
    if data_dir is not None:
        return [Path(data_dir)]
    if os.environ.get("GENAD_DATA"):
        return [Path(os.environ["GENAD_DATA"])]
    repo = Path(__file__).resolve().parents[2]
    return [Path.cwd() / ".." / "shared" / "data", repo / ".." / "shared" / "data"]


def adbench_files(data_dir: str | Path | None = None) -> list[Path]:
    """The ADBench ``.npz`` files of the first data directory that has any; a clear error otherwise."""
    looked = []
    for base in candidate_data_dirs(data_dir):
        for folder in (base / ADBENCH_FOLDER, base):
            looked.append(str(folder))
            files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
            if files:
                return files
    raise FileNotFoundError(
        "no ADBench .npz files found; looked in " + ", ".join(looked)
        + " (set --data-dir or GENAD_DATA to the folder holding adbench_classical/)"
    )


def short_name(path: Path) -> str:
    """``6_cardio.npz`` -> ``cardio``."""
    return _NUMBER_PREFIX.sub("", path.stem)


def resolve_datasets(specs: list[str], data_dir: str | Path | None = None,
                     label_column: str | None = None) -> list[DatasetRef]:
    """Turn dataset specs into :class:`DatasetRef` objects, in order, without duplicates."""
    refs: list[DatasetRef] = []
    for spec in specs:
        if spec.lower().startswith(ADBENCH_PREFIX):
            refs.extend(_adbench_refs(spec[len(ADBENCH_PREFIX):], data_dir))
        else:
            path = Path(spec)
            if not path.is_file():
                raise FileNotFoundError(f"dataset {spec!r}: no such file (use adbench:<name> for ADBench data)")
            refs.append(DatasetRef(path.stem, str(path.resolve()), label_column))
    names = [r.name for r in refs]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ValueError(f"dataset names given more than once (or two files with one name): {clash}")
    return refs


def _adbench_refs(name: str, data_dir) -> list[DatasetRef]:
    files = adbench_files(data_dir)
    if name.lower() == "all":
        return [DatasetRef(short_name(p), str(p.resolve())) for p in files]
    wanted = name.lower()
    for p in files:
        if wanted in (p.stem.lower(), short_name(p).lower()):
            return [DatasetRef(short_name(p), str(p.resolve()))]
    known = ", ".join(short_name(p) for p in files)
    raise ValueError(f"unknown ADBench dataset {name!r} in {files[0].parent}; known: {known}")


def load_dataset(ref: DatasetRef) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64) and 0/1 labels of a dataset; a file without labels is an error."""
    from genad.data import read_table
    from genad.validation import as_labels

    X, y = read_table(ref.path, label_column=ref.label_column)
    if y is None:
        raise ValueError(f"dataset {ref.name} ({ref.path}) has no label column (y or label, or --label-column)")
    X = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=np.float64)
    return X, as_labels(y, X.shape[0])
