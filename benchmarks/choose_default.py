"""Choose one default configuration among candidates, from development results only.

Usage: python benchmarks/choose_default.py DEV_RESULTS.sqlite TOLERANCE CANDIDATE [CANDIDATE ...]

Candidates are bench model strings listed from the cheapest to the most expensive. The score of a candidate
is its mean AUROC over every (dataset, seed, protocol) cell that all candidates finished. The rule, fixed
before any result is read: take the best candidate, unless a cheaper one is within TOLERANCE of it, in
which case take the cheapest such one. Prints the table to stderr and the chosen model string to stdout.
"""
import sqlite3
import sys

import pandas as pd

path, tolerance, candidates = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
cells = pd.read_sql("select dataset, seed, protocol, model, auroc, fit_seconds from cells where status = 'ok'",
                    connection)
cells = cells[cells.model.isin(candidates)]
key = ["dataset", "seed", "protocol"]
complete = cells.groupby(key).model.nunique() == len(candidates)
cells = cells.set_index(key).loc[complete[complete].index].reset_index()
summary = cells.groupby("model").agg(mean_auroc=("auroc", "mean"), fit_seconds=("fit_seconds", "sum"),
                                     cells=("auroc", "size")).reindex(candidates)
print(summary.round(4).to_string(), file=sys.stderr)
best = summary.mean_auroc.max()
print(next(name for name in candidates if summary.mean_auroc[name] >= best - tolerance))
