"""``genad synthesize``: a data file with labelled synthetic anomalies, tabular or time series.

Tabular (``--kind local|global|dependency|clustered``): the output holds the file's normal rows (every row when
it has no label column), then anomalies generated from those rows: as many as the file labels, replacing them as
ADBench does (:func:`genad.synthesis.replace_anomalies`), or ``--n``. Time series (``--time-series``, ``--kind
global|contextual|shapelet|seasonal|trend``): the anomalies are injected into the series in place
(:func:`genad.synthesis.inject_anomalies`); a step's label is 1 where one was injected or where the file
already labelled one. Either way the output has the input's feature columns and a ``label`` column (1 = anomaly).
"""
from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

#: The parameters ``--set`` may give, by mode (the functions' own keyword arguments).
TABULAR_PARAMETERS = ("alpha", "beta")
SERIES_PARAMETERS = ("length", "strength", "context", "persist")


def labelled_frame(X: np.ndarray, labels: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """Rows and their 0/1 labels as one DataFrame, the labels in a last column named ``label``."""
    import pandas as pd

    if "label" in columns:
        raise ValueError("the data has a feature column named 'label', which the output's label column would "
                         "replace; rename it")
    frame = pd.DataFrame(X, columns=columns)
    frame["label"] = np.asarray(labels, dtype=np.int64)
    return frame


def synthesize_tabular(X: Any, y: np.ndarray | None, kind: str, n: int | None, seed: int,
                       params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The normal rows of ``(X, y)`` (every row when ``y`` is None) and then ``n`` anomalies of type ``kind``
    (``n=None``: as many as ``y`` labels, replacing them)."""
    from genad.synthesis import generate_anomalies, replace_anomalies

    X = np.asarray(X, dtype=np.float64)  # numeric already (read_table); finiteness is checked by the generators
    if n is None:
        if y is None or not y.any():
            raise ValueError("the data has no labelled anomaly to replace; say how many to generate with --n")
        return replace_anomalies(X, y, kind, seed, **params)
    normal = X if y is None else X[y == 0]
    synthetic = generate_anomalies(kind, normal, n, seed, **params)
    return np.vstack([normal, synthetic]), np.r_[np.zeros(len(normal)), np.ones(n)].astype(int)


def synthesize_series(X: Any, y: np.ndarray | None, kind: str, n: int | None, seed: int,
                      params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The series with ``n`` (default 1) injected anomalies of type ``kind``; labels: injected or already
    labelled."""
    from genad.synthesis import inject_anomalies

    series, injected = inject_anomalies(X, kind, 1 if n is None else n, seed=seed, **params)
    return series, injected if y is None else np.maximum(injected, y.astype(np.int64))


def cmd_synthesize(args: argparse.Namespace) -> int:
    from genad.data import read_table
    from genad.data.io import check_output_file, check_table_suffix, column_names, write_table
    from genad.synthesis import ANOMALY_TYPES, TIMESERIES_ANOMALY_TYPES

    out = check_table_suffix(check_output_file(args.out, "the synthetic data", inputs=[args.data]),
                             "the synthetic data")
    kinds, allowed, run = ((TIMESERIES_ANOMALY_TYPES, SERIES_PARAMETERS, synthesize_series) if args.time_series
                           else (ANOMALY_TYPES, TABULAR_PARAMETERS, synthesize_tabular))
    if args.kind not in kinds:
        hint = "without --time-series, tabular types" if args.time_series else "with --time-series, series types"
        raise ValueError(f"unknown {'time-series' if args.time_series else 'tabular'} anomaly type {args.kind!r}; "
                         f"expected one of {kinds} ({hint} apply)")
    params = dict(args.set or [])
    if set(params) - set(allowed):
        raise ValueError(f"--set takes {', '.join(allowed)} here, got {sorted(set(params) - set(allowed))}")
    X, y = read_table(args.data, label_column=args.label_column)
    values, labels = run(X, y, args.kind, args.n, args.seed, params)
    write_table(labelled_frame(values, labels, column_names(X)), out)
    print(f"wrote {len(values)} rows ({int(labels.sum())} labelled anomalous, {args.kind}) to {out}")
    return 0


def add_commands(subparsers) -> None:
    """Add ``synthesize`` to the ``genad`` command line."""
    from genad.cli import parse_assignment

    p = subparsers.add_parser(
        "synthesize", help="add labelled synthetic anomalies to a data file (tabular or time series)",
        description=re.sub(r":func:`([^`]*)`", r"\1", __doc__.split("\n\n", 1)[1]).replace("``", "'"))
    p.add_argument("--data", required=True, help=".csv, .parquet or .npz file; its label column, if any, is used")
    p.add_argument("--kind", required=True, help="tabular: local, global, dependency, clustered; with "
                                                 "--time-series: global, contextual, shapelet, seasonal, trend")
    p.add_argument("--time-series", action="store_true", help="the rows are one series in time order")
    p.add_argument("--n", type=int, default=None,
                   help="how many anomalies (tabular default: as many as the file labels; time series: 1)")
    p.add_argument("--seed", type=int, default=0, help="the same seed gives the same anomalies (default 0)")
    p.add_argument("--set", action="append", type=parse_assignment, metavar="KEY=VALUE",
                   help="tabular: alpha (local, global) or beta (clustered); time series: length, strength, "
                        "context, persist (trend)")
    p.add_argument("--label-column", default=None, help="the label column (default: y or label if present)")
    p.add_argument("--out", required=True, help="a .csv or .parquet file: the features and a label column")
    p.set_defaults(func=cmd_synthesize)
