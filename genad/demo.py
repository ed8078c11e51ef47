"""The demo: every registered tabular model on WDBC (scikit-learn's bundled breast-cancer data).

One-class protocol: fit on 70% of the benign rows, test on the other benign rows and all
malignant rows (the anomalies), features standardised on the fitted rows.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from tqdm.auto import tqdm

import genad
from genad.training import warm_up_torch
from genad.validation import check_int


def wdbc_one_class_split(seed: int = 0):
    """``X_train`` (benign only), ``X_test``, ``y_test`` (1 = malignant) from the bundled WDBC data."""
    check_int("seed", seed, low=0, high=2**32 - 1)  # scikit-learn's range, checked here by name
    data = load_breast_cancer()
    X, y = data.data, (data.target == 0).astype(int)  # target 0 is malignant in scikit-learn
    normal, anomalous = X[y == 0], X[y == 1]
    train, test_normal = train_test_split(normal, train_size=0.7, random_state=seed)
    X_test = np.vstack([test_normal, anomalous])
    y_test = np.r_[np.zeros(len(test_normal)), np.ones(len(anomalous))].astype(int)
    scaler = StandardScaler().fit(train)
    return scaler.transform(train), scaler.transform(X_test), y_test


def run_demo(epochs: int | None = None, seed: int = 0) -> list[tuple]:
    """Fit and score every tabular model; print and return ``(model, family, AUROC, AUPRC, fit s, score s)`` rows."""
    from genad.cli import print_table

    if epochs is not None:  # checked before torch warms up and the first model trains
        check_int("epochs", epochs, low=1)
    X_train, X_test, y_test = wdbc_one_class_split(seed)
    warm_up_torch()  # torch's one-time start-up would otherwise land in the first model's fit time
    print(f"WDBC one-class split: {len(X_train)} benign training rows, {len(X_test)} test rows "
          f"({int(y_test.sum())} malignant), {X_train.shape[1]} features")
    rows = []
    for info in tqdm(genad.list_models(modality="tabular"), desc="models"):
        takes_epochs = "epochs" in info.parameters  # an ensemble has no epochs of its own
        params = {"random_state": seed} | ({"epochs": epochs} if epochs is not None and takes_epochs else {})
        start = time.perf_counter()
        det = genad.create(info.name, **params).fit(X_train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        scores = det.decision_function(X_test)
        score_s = time.perf_counter() - start
        rows.append((info.name, info.family, roc_auc_score(y_test, scores),
                     average_precision_score(y_test, scores), fit_s, score_s))
    print_table(("model", "family", "AUROC", "AUPRC", "fit s", "score s"), rows)
    return rows
