"""How steady is one time-series model's lead over another across seeds?

Usage: python benchmarks/seed_margin.py RESULTS.sqlite MODEL BASELINE GROUP [GROUP ...]

A GROUP is a set of seeds, written like ``--seeds`` (``0,1,2``) or as a range (``3-9``). For each group the
script prints both models' mean VUS-PR (means over the group's seeds, then over series, as `genad report-ts`
takes them) and the 95% bootstrap interval of MODEL minus BASELINE over the series; then the difference of the
two suite means seed by seed, and each series' mean over all the seeds given.
"""
import json
import sqlite3
import sys

import pandas as pd

from genad.bench.cli import parse_seeds
from genad.bench.stats import interval_text


def seed_group(text: str) -> list[int]:
    """``"3-9"`` -> ``[3, ..., 9]``; ``"0,1,2"`` -> ``[0, 1, 2]``."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-"))
        return list(range(first, last + 1))
    return parse_seeds(text)


def vus_pr_cells(path: str, models: list[str]) -> pd.DataFrame:
    query = "select dataset, model, seed, extra from cells where status = 'ok'"
    cells = pd.read_sql(query, sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    cells = cells[cells.model.isin(models)].copy()
    cells["vus_pr"] = [json.loads(extra)["vus_pr"] for extra in cells.extra]
    return cells


def main(path: str, model: str, baseline: str, groups: list[str]) -> None:
    cells = vus_pr_cells(path, [model, baseline])
    every_seed = sorted({seed for group in groups for seed in seed_group(group)})
    for group in groups:
        chosen = cells[cells.seed.isin(seed_group(group))]
        per_series = chosen.pivot_table(index="dataset", columns="model", values="vus_pr")
        means = ", ".join(f"{name} {per_series[name].mean():.3f}" for name in (model, baseline))
        print(f"seeds {group}: {means}; difference {(per_series[model] - per_series[baseline]).mean():+.4f} "
              f"{interval_text(per_series, model, baseline, 'series')}")
    per_seed = cells.pivot_table(index="seed", columns="model", values="vus_pr").loc[every_seed]
    print("difference per seed:", " ".join(f"{seed}: {value:+.3f}" for seed, value in
                                            (per_seed[model] - per_seed[baseline]).items()))
    chosen = cells[cells.seed.isin(every_seed)]
    print(chosen.pivot_table(index="dataset", columns="model", values="vus_pr")[[model, baseline]].round(3))


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
