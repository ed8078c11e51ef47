"""Tiny generated ADBench-style data directories for the bench tests (no real data files)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def planted_table(n: int = 300, n_features: int = 6, anomaly_rate: float = 0.08, seed: int = 0):
    """Correlated normal rows and shifted anomalies, with 0/1 labels, not standardised."""
    rng = np.random.default_rng(seed)
    n_anomalies = max(2, int(round(n * anomaly_rate)))
    mixing = rng.normal(size=(2, n_features))
    normal = rng.normal(size=(n - n_anomalies, 2)) @ mixing + 0.1 * rng.normal(size=(n - n_anomalies, n_features))
    anomalies = rng.normal(size=(n_anomalies, n_features)) * 2 + 4
    X = np.vstack([normal, anomalies]) * 3 + 10
    y = np.r_[np.zeros(n - n_anomalies), np.ones(n_anomalies)].astype(int)
    order = rng.permutation(n)
    return X[order], y[order]


def make_data_dir(root: Path, names=("1_alpha", "2_beta"), n: int = 300) -> Path:
    """``root/adbench_classical/<name>.npz`` files; returns ``root``."""
    folder = root / "adbench_classical"
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        X, y = planted_table(n=n, seed=k)
        np.savez(folder / f"{name}.npz", X=X, y=y)
    return root


@dataclass(frozen=True)
class CrashCell:
    """A cell whose worker process dies the first time it runs it (``marker`` records that it did)."""

    name: str
    marker: str

    @property
    def key(self) -> tuple:
        return ("test", self.name, "m", 0, "one-class", "real")


def die_once(cell: CrashCell) -> dict:
    """Kill the worker process on the first try; on the retry return an ok record."""
    marker = Path(cell.marker)
    if not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return dict(zip(("suite", "dataset", "model", "seed", "protocol", "anomalies"), cell.key),
                status="ok", auroc=1.0)
