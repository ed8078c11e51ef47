"""The Benchmark issue's targets, checked on a tabular results file.

``python -m genad.bench.targets results/adbench.sqlite [--seeds 0,1,2]`` prints, per protocol, genad ``ae``
against PyOD's AutoEncoder (total fit+score seconds, mean AUROC) and the best genad model against the best PyOD
baseline, over every seed of the file or only those given.
Means are over seeds per dataset, then over datasets, as in the report. As there, only a model that finished
every cell of the protocol (every dataset x seed on which any model has a score) has a suite mean and total
seconds: one with failed or missing cells is named on a line of its own and is neither compared nor a
candidate for "best" (its mean over the datasets it finished would skip the ones it failed on). Each AUROC
difference comes with a 95% bootstrap interval over datasets (paired: the per-dataset differences are
resampled), so a reader can tell a margin from the spread of the suite.
"""
from __future__ import annotations

import argparse

from genad.bench.cli import parse_seeds
from genad.bench.report import finished_every_cell, load_frame
from genad.bench.stats import interval_text


def target_lines(path: str, seeds: list[int] | None = None) -> list[str]:
    """The target checks as printable lines, over ``seeds`` only when given."""
    frame = load_frame(path)
    frame = frame[(frame.suite == "tabular") & (frame.anomalies == "real")]
    if seeds is not None:
        frame = frame[frame.seed.isin(seeds)]
        if frame.empty:
            raise ValueError(f"{path} holds no tabular cells of seeds {seeds}")
    ok = frame[frame.status == "ok"]
    lines = [f"cells: {len(frame)} ({int((frame.status != 'ok').sum())} failed); "
             f"datasets {frame.dataset.nunique()}; seeds {sorted(int(s) for s in frame.seed.unique())}"]
    for protocol in sorted(ok.protocol.unique()):
        rows = ok[ok.protocol == protocol]
        finished = finished_every_cell(frame[frame.protocol == protocol])
        if not finished.all():
            lines.append(f"[{protocol}] left out, with failed or missing cells: "
                         + ", ".join(sorted(finished.index[~finished])))
        rows = rows[rows.model.isin(finished.index[finished])]
        per_dataset = rows.groupby(["dataset", "model"]).auroc.mean().unstack()
        auroc = per_dataset.mean()
        seconds = rows.groupby("model").seconds.sum()
        if {"ae", "pyod:AutoEncoder"} <= set(auroc.index):
            lines.append(
                f"[{protocol}] ae: mean AUROC {auroc['ae']:.4f}, fit+score {seconds['ae']:.0f} s; "
                f"pyod:AutoEncoder: {auroc['pyod:AutoEncoder']:.4f}, {seconds['pyod:AutoEncoder']:.0f} s; "
                f"time ratio {seconds['ae'] / seconds['pyod:AutoEncoder']:.3f} (target <= 0.2); "
                f"AUROC diff {auroc['ae'] - auroc['pyod:AutoEncoder']:+.4f} "
                f"{interval_text(per_dataset, 'ae', 'pyod:AutoEncoder', 'datasets')} (target >= 0)")
        is_pyod = auroc.index.str.startswith("pyod:")
        if is_pyod.any() and (~is_pyod).any():
            best_genad, best_pyod = auroc[~is_pyod].idxmax(), auroc[is_pyod].idxmax()
            lines.append(f"[{protocol}] best genad {best_genad} {auroc[best_genad]:.4f} vs best PyOD {best_pyod} "
                         f"{auroc[best_pyod]:.4f}: {auroc[best_genad] - auroc[best_pyod]:+.4f} "
                         f"{interval_text(per_dataset, best_genad, best_pyod, 'datasets')} "
                         + ("(target >= +0.01)" if protocol == "one-class" else "(no target in this protocol)"))
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m genad.bench.targets", description=__doc__.splitlines()[0])
    parser.add_argument("results", help="tabular results file (SQLite) written by `genad bench`")
    parser.add_argument("--seeds", type=parse_seeds, default=None, help="only these seeds (comma-separated)")
    args = parser.parse_args()
    print("\n".join(target_lines(args.results, args.seeds)))
