"""Rank genad models by mean AUROC on development results; print the ranking and the best K.

Usage: python benchmarks/top_models.py DEV_RESULTS.sqlite K [PROTOCOL]
       (PROTOCOL defaults to one-class)

Only cells that every listed model finished count (the same datasets and seeds for all); baselines (pyod:*) are
shown in the ranking but never chosen. The ensemble's default members came from this rule (BENCHMARKS.md).
The ranking is printed with its means over the Classical and the embedding sets apart; the rule uses all of them.
"""
import sqlite3
import sys

import pandas as pd

path, k = sys.argv[1], int(sys.argv[2])
protocol = sys.argv[3] if len(sys.argv) > 3 else "one-class"
cells = pd.read_sql("select dataset, seed, model, auroc from cells where status = 'ok' and protocol = ?",
                    sqlite3.connect(f"file:{path}?mode=ro", uri=True), params=(protocol,))
n_models = cells.model.nunique()
complete = cells.groupby(["dataset", "seed"]).model.nunique() == n_models
cells = cells.set_index(["dataset", "seed"]).loc[complete[complete].index].reset_index()
ranking = cells.groupby("model").auroc.mean().sort_values(ascending=False)
print(f"{protocol}: {len(complete[complete])} (dataset, seed) pairs finished by all {n_models} models", file=sys.stderr)
# the ranking that decides, beside its two parts: the benchmark suite holds Classical data sets only, and the
# development collection's embedding sets (MVTec-AD, 20news) weigh two thirds of it
is_embedding = cells.dataset.str.startswith(("MVTec-AD", "20news"))
parts = {"all": cells, "classical": cells[~is_embedding], "embedding": cells[is_embedding]}
table = pd.DataFrame({name: part.groupby("model").auroc.mean() for name, part in parts.items()}).loc[ranking.index]
print(table.round(4).to_string(), file=sys.stderr)
print(" ".join([name for name in ranking.index if not name.startswith("pyod:")][:k]))
