"""Table of the density, adversarial and diffusion models beside the PyOD baselines, for one protocol.

Usage: python benchmarks/beyond_ae_table.py RESULTS.sqlite SEEDS [PROTOCOL]
       (e.g. results/adbench.sqlite 0,1,2 one-class; PROTOCOL defaults to one-class)
Means per dataset over the seeds every listed genad model finished, then over datasets, as `genad report` does;
as there, a model without a score on every one of those (dataset, seed) pairs gets no mean (its mean would skip
the datasets it failed on) and is no candidate for best.
"""
import sqlite3
import sys

import pandas as pd

from genad.bench.report import finished_every_cell

# the models of the "beyond the autoencoder" issue (#5), the six PyOD baselines of the Benchmark issue and DESIGN.md's
# seventh, DeepSVDD
MODELS = ["realnvp", "maf", "made", "dsebm", "beta_vae", "iwae", "dte", "dte?kind=nonparametric", "ddpm_recon",
          "anogan", "f_anogan", "ganomaly", "adae"]
BASELINES = ["pyod:IForest", "pyod:ECOD", "pyod:KNN", "pyod:PCA", "pyod:AutoEncoder", "pyod:VAE", "pyod:DeepSVDD"]


def load_cells(path: str, seeds: list[int], protocol: str) -> pd.DataFrame:
    """Finished real-anomaly cells of the listed models, on the (dataset, seed) pairs every genad model finished."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cells = pd.read_sql("select * from cells where protocol = ? and status = 'ok' and anomalies = 'real'",
                        connection, params=(protocol,))
    cells = cells[cells.seed.isin(seeds) & cells.model.isin(MODELS + BASELINES)]
    finished = cells[cells.model.isin(MODELS)].groupby(["dataset", "seed"]).model.nunique()
    complete = set(finished[finished == len(MODELS)].index)
    return cells[[(dataset, seed) in complete for dataset, seed in zip(cells.dataset, cells.seed)]]


def main() -> None:
    path, seeds = sys.argv[1], [int(s) for s in sys.argv[2].split(",")]
    protocol = sys.argv[3] if len(sys.argv) > 3 else "one-class"
    cells = load_cells(path, seeds, protocol)
    per_dataset = cells.groupby(["model", "dataset"])
    finished = finished_every_cell(cells)
    auroc = per_dataset.auroc.mean().groupby("model").mean().where(finished)
    auprc = per_dataset.auprc.mean().groupby("model").mean().where(finished)
    seconds = (cells.fit_seconds + cells.score_seconds).groupby(cells.model).sum().where(finished)
    # sorted on the rounded means, so that ties keep the models' alphabetical order
    table = pd.DataFrame({"datasets": cells.groupby("model").dataset.nunique(), "mean AUROC": auroc.round(3),
                          "mean AUPRC": auprc.round(3), "fit+score s": seconds.round(1)}
                         ).sort_values("mean AUROC", ascending=False)
    pairs = set(zip(cells.dataset, cells.seed))
    print(f"seeds {sorted({seed for _, seed in pairs})}, {len({name for name, _ in pairs})} datasets, {protocol}\n")
    print("| model | datasets | mean AUROC | mean AUPRC | fit+score s |\n|---|---|---|---|---|")
    for model, row in table.iterrows():
        values = " | ".join("" if pd.isna(v) else f"{v:{spec}}" for v, spec in
                            ((row["mean AUROC"], ".3f"), (row["mean AUPRC"], ".3f"), (row["fit+score s"], ".1f")))
        print(f"| {model} | {int(row['datasets'])} | {values} |")
    print()
    print("dte nonparametric / pyod:KNN seconds:", round(seconds["dte?kind=nonparametric"] / seconds["pyod:KNN"], 2))
    best_model, best_baseline = auroc.reindex(MODELS).idxmax(), auroc.reindex(BASELINES).idxmax()
    print(f"best issue-5 model {best_model} {auroc[best_model]:.4f} vs best PyOD {best_baseline} "
          f"{auroc[best_baseline]:.4f}: {auroc[best_model] - auroc[best_baseline]:+.4f}")


if __name__ == "__main__":
    main()
