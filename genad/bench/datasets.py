"""Datasets by name: ``adbench:<name>``, ``adbench:all``, ``adbench-emb:<name>``, ``adbench-emb:all``,
``dev:tabular`` and plain files (``.npz``, ``.csv``, ``.parquet``).

The ADBench ``.npz`` files are found in a data directory: ``--data-dir``, else the environment variable
``GENAD_DATA``, else ``../shared/data`` relative to the current directory or to the repository. The Classical
files sit in its ``adbench_classical`` sub-folder (or in the directory itself), the embedding sets (MVTec-AD
images through ResNet-18, 20news through BERT) one level down in ``adbench_embeddings``.

``dev:tabular`` is the development collection on which genad's tabular defaults are chosen, so that the
benchmark suite's other datasets stay out of those choices: eight Classical datasets and the small
embedding sets, which are not in the suite.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genad.data.io import LABEL_COLUMNS, label_column_of

ADBENCH_PREFIX = "adbench:"
ADBENCH_FOLDER = "adbench_classical"
EMBEDDINGS_PREFIX = "adbench-emb:"
EMBEDDINGS_FOLDER = "adbench_embeddings"
DEV_PREFIX = "dev:"
# Classical datasets used for development since the first session; the embedding sets joined them in the
# fourth, because none of these eight is as small as the suite's smallest data sets.
DEV_CLASSICAL = ("cardio", "mammography", "satimage-2", "thyroid", "ionosphere", "annthyroid", "pendigits",
                 "spambase")
DEV_GROUPS = {"tabular": [ADBENCH_PREFIX + name for name in DEV_CLASSICAL] + [EMBEDDINGS_PREFIX + "all"]}
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
    """The ADBench Classical ``.npz`` files of the first data directory that has any; a clear error otherwise."""
    return _find_files(data_dir, [(ADBENCH_FOLDER, "*.npz"), ("", "*.npz")], f"{ADBENCH_FOLDER}/")


def embedding_files(data_dir: str | Path | None = None) -> list[Path]:
    """The ADBench embedding ``.npz`` files (``adbench_embeddings/<kind>/<name>.npz``)."""
    return _find_files(data_dir, [(EMBEDDINGS_FOLDER, "*/*.npz")], f"{EMBEDDINGS_FOLDER}/")


def _find_files(data_dir, layouts: list[tuple[str, str]], wanted: str) -> list[Path]:
    looked = []
    for base in candidate_data_dirs(data_dir):
        for sub, pattern in layouts:
            folder = base / sub if sub else base
            looked.append(str(folder))
            files = sorted(folder.glob(pattern), key=lambda p: p.name) if folder.is_dir() else []
            if files:
                return files
    raise FileNotFoundError(
        "no ADBench .npz files found; looked in " + ", ".join(looked)
        + f" (set --data-dir or GENAD_DATA to the folder holding {wanted})"
    )


def short_name(path: Path) -> str:
    """``6_cardio.npz`` -> ``cardio``."""
    return _NUMBER_PREFIX.sub("", path.stem)


def resolve_datasets(specs: list[str], data_dir: str | Path | None = None,
                     label_column: str | None = None) -> list[DatasetRef]:
    """Turn dataset specs into :class:`DatasetRef` objects, in order, without duplicates."""
    refs: list[DatasetRef] = []
    for spec in specs:
        lowered = spec.lower()
        if lowered.startswith(DEV_PREFIX):
            group = lowered[len(DEV_PREFIX):]
            if group not in DEV_GROUPS:
                raise ValueError(f"unknown development group {spec!r}; known: "
                                 + ", ".join(DEV_PREFIX + g for g in DEV_GROUPS))
            refs.extend(resolve_datasets(DEV_GROUPS[group], data_dir))
        elif lowered.startswith(ADBENCH_PREFIX):
            refs.extend(_named_refs(spec[len(ADBENCH_PREFIX):], adbench_files(data_dir), "ADBench"))
        elif lowered.startswith(EMBEDDINGS_PREFIX):
            refs.extend(_named_refs(spec[len(EMBEDDINGS_PREFIX):], embedding_files(data_dir), "ADBench embedding"))
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


def _named_refs(name: str, files: list[Path], collection: str) -> list[DatasetRef]:
    if name.lower() == "all":
        return [DatasetRef(short_name(p), str(p.resolve())) for p in files]
    wanted = name.lower()
    for p in files:
        if wanted in (p.stem.lower(), short_name(p).lower()):
            return [DatasetRef(short_name(p), str(p.resolve()))]
    known = ", ".join(short_name(p) for p in files)
    raise ValueError(f"unknown {collection} dataset {name!r} in {files[0].parent}; known: {known}")


def check_labels(refs: list[DatasetRef]) -> None:
    """Check, before a run, that every dataset file has its label column, reading no rows.

    A ``.csv`` is read to its header, a ``.parquet`` to its schema, an ``.npz`` to the names of its arrays
    (its zip directory; the ADBench files are not loaded). A file without the label column, with a misspelt
    ``--label-column`` or of another type is a ``ValueError`` naming the file, not a failed cell per model
    and seed.
    """
    for ref in refs:
        columns = _file_column_names(Path(ref.path))
        if columns is None:  # no way to look without loading it: the cell's reader decides
            continue
        if ref.label_column is None and not ref.path.lower().endswith(".npz"):
            label = label_column_of(columns, ref.path)  # the rule read_table applies
        else:
            label = ref.label_column or "y"
        if label is None or label not in columns:
            wanted = repr(label) if label else " or ".join(map(repr, LABEL_COLUMNS))
            hint = "" if ref.label_column else " (name another with --label-column)"
            raise ValueError(f"dataset {ref.path} has no label column {wanted}{hint}; "
                             f"it holds: {columns[:20]}")


def _file_column_names(path: Path) -> list[str] | None:
    """Column (for ``.npz``: array) names of a data file without reading its rows; None without a parquet engine."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return list(archive.files)
        if suffix == ".csv":
            import pandas as pd

            return [str(c) for c in pd.read_csv(path, nrows=0).columns]
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
    except ImportError:
        return None
    except Exception as err:  # pandas, numpy and pyarrow raise many types for unreadable files
        raise ValueError(f"could not read dataset {path}: {type(err).__name__}: {err}") from None
    raise ValueError(f"dataset {path}: unsupported file type {suffix!r}; use .csv, .parquet or .npz")


def load_dataset(ref: DatasetRef) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64) and 0/1 labels of a dataset; a file without labels is an error."""
    from genad.data import read_table
    from genad.validation import as_labels

    X, y = read_table(ref.path, label_column=ref.label_column)
    if y is None:
        raise ValueError(f"dataset {ref.name} ({ref.path}) has no label column (y or label, or --label-column)")
    X = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=np.float64)
    return X, as_labels(y, X.shape[0])
