"""The tabular benchmark protocol of DESIGN.md section 5, as plain functions.

1. Cap at 20,000 rows by stratified subsampling (``random_state=0``).
2. Stratified 70/30 train/test split with ``random_state=seed``.
3. ``unsupervised``: fit on the whole train split; ``one-class``: on its normal rows only.
4. ``StandardScaler`` fitted on the rows used for fitting; NaN -> 0 after scaling.
5. AUROC and AUPRC on the test split (computed by the runner).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

PROTOCOLS = ("unsupervised", "one-class")
MAX_ROWS = 20_000
TEST_FRACTION = 0.3


@dataclass
class Split:
    """The rows a detector is fitted on and the labelled test rows, already scaled."""

    X_fit: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def cap_rows(X: np.ndarray, y: np.ndarray, max_rows: int = MAX_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Stratified subsample of ``max_rows`` rows when the dataset has more (always ``random_state=0``)."""
    if len(y) <= max_rows:
        return X, y
    X_kept, _, y_kept, _ = train_test_split(X, y, train_size=max_rows, stratify=y, random_state=0)
    return X_kept, y_kept


def make_split(X: np.ndarray, y: np.ndarray, seed: int, protocol: str) -> Split:
    """Split, select the fitted rows for ``protocol`` and scale on them."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; expected one of {PROTOCOLS}")
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, stratify=y, random_state=seed)
    X_fit = X_train if protocol == "unsupervised" else X_train[y_train == 0]
    scaler = StandardScaler().fit(X_fit)
    return Split(_scaled(scaler, X_fit), _scaled(scaler, X_test), np.asarray(y_test))


def _scaled(scaler: StandardScaler, X: np.ndarray) -> np.ndarray:
    return np.nan_to_num(scaler.transform(X), nan=0.0)
