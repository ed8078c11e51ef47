"""Do stored results still hold? Compare the cells of a fresh re-run with the same cells in a results file.

Usage: python benchmarks/compare_cells.py STORED.sqlite RERUN.sqlite

Every cell of RERUN that STORED also holds (same suite, dataset, model, seed, protocol and anomaly type) is
compared: are the scores identical (the stored sha256 of the scores), and how far apart are the AUROCs? One
line per (model, protocol). A hash can change with float rounding alone (another thread count, library or
optimizer kernel) while the AUROC stays put; an AUROC that moves means the stored cell no longer describes
what today's code does, and it should be re-run.

Cells recorded since the sixteenth session keep the environment they ran in (package versions, CPU, torch's
kernel family); the script then names what differs between the two files, so that a changed hash can be traced
to the code or to the environment.
"""
import json
import sqlite3
import sys

import pandas as pd

KEY = ["suite", "dataset", "model", "seed", "protocol", "anomalies"]


def read(path: str) -> pd.DataFrame:
    query = f"select {', '.join(KEY)}, auroc, scores_sha256, extra from cells where status = 'ok'"
    return pd.read_sql(query, sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def environments(cells: pd.DataFrame) -> dict[str, set]:
    """Each environment field and the values it takes over ``cells`` (empty where none was recorded)."""
    values: dict[str, set] = {}
    for extra in cells.extra.dropna():
        for field, value in json.loads(extra).get("environment", {}).items():
            values.setdefault(field, set()).add(value)
    return values


def environment_note(stored: pd.DataFrame, rerun: pd.DataFrame) -> str:
    old, new = environments(stored), environments(rerun)
    if not old or not new:
        return "environment: not recorded in " + " and ".join(
            name for name, values in (("the stored file", old), ("the re-run", new)) if not values)
    differing = [f"{field} {sorted(old.get(field, {'-'}))} stored, {sorted(new.get(field, {'-'}))} re-run"
                 for field in sorted(old.keys() | new.keys()) if old.get(field) != new.get(field)]
    return "environment: " + ("; ".join(differing) if differing else "the same in both")


stored, rerun = read(sys.argv[1]), read(sys.argv[2])
both = rerun.merge(stored.drop(columns="extra"), on=KEY, suffixes=("_rerun", "_stored"))
both["identical"] = both.scores_sha256_rerun == both.scores_sha256_stored
both["auroc_change"] = (both.auroc_rerun - both.auroc_stored).abs()
table = both.groupby(["model", "protocol"]).agg(
    cells=("identical", "size"), identical_scores=("identical", "sum"),
    max_auroc_change=("auroc_change", "max"), mean_auroc_change=("auroc_change", "mean"))
print(f"{len(both)} cells in both files ({len(rerun) - len(both)} of the re-run's are not stored)")
print(table.round(4).to_string())
shared = both[KEY]
print(environment_note(stored.merge(shared, on=KEY), rerun.merge(shared, on=KEY)))
