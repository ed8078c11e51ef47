"""One fit, several ways of scoring: a time-series model on a bench suite's real series, fitted once per series and
seed as ``genad bench-ts`` fits it, then scored once per value of a setting that changes scoring only.

Prints the threshold-free metrics of ``genad bench-ts`` (VUS-PR, VUS-ROC, AUPRC, AUROC) per series and their
means per value, and writes them as JSON lines to ``--out`` (appended, one line per series, seed and value).
Range-F1 is left out: the threshold a model fits is learnt from its training scores under the setting it was
fitted with. Twenty-fifth session: GANF's ``score_unit=window,step`` on SMD, from the same fits.

Usage: python benchmarks/ts_rescore.py --suite smd --seeds 0 --rescore score_unit=window,step ganf
       [--only machine-1-6,machine-1-7] [--out results/rescore.jsonl]
"""
import argparse
import json
import time

import numpy as np
import torch

from genad.bench.cli import parse_seeds
from genad.bench.timeseries import VUS_MAX_BUFFER, build_series_model, load_series, standardise, suite_series
from genad.metrics import auprc, auroc, vus
from genad.registry import parse_assignment


def parse_rescore(text: str) -> tuple[str, list]:
    """``--rescore NAME=V1,V2`` as ``(NAME, [V1, V2])``, each value read as the model specs read theirs."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--rescore wants NAME=V1,V2, got {text!r}")
    setting, values = text.split("=", 1)
    return setting.strip(), [parse_assignment(f"{setting}={value}")[1] for value in values.split(",")]


def threshold_free_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    out = vus(labels, scores, max_buffer=VUS_MAX_BUFFER)
    return {**out, "auprc": auprc(labels, scores), "auroc": auroc(labels, scores)}


def rescore(suite: str, spec: str, seed: int, name: str, setting: str, values: list):
    """Yield one record per value of ``setting`` for one fit of ``spec`` on series ``name``."""
    series = load_series(suite, name)
    train, test = standardise(series.train, series.test)
    model = build_series_model(spec, seed)
    start = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - start
    for value in values:
        model.set_params(**{setting: value})  # checked when the model scores
        scores = np.asarray(model.decision_function(test), dtype=np.float64)
        yield {"suite": suite, "series": name, "model": spec, "seed": seed, setting: value,
               "fit_seconds": round(fit_seconds, 1), **threshold_free_metrics(series.labels, scores)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--suite", required=True)
    parser.add_argument("--seeds", type=parse_seeds, default=[0], help="comma-separated (default 0)")
    parser.add_argument("--rescore", required=True, type=parse_rescore,
                        help="NAME=V1,V2: a setting that changes scoring only")
    parser.add_argument("--only", help="comma-separated series to keep")
    parser.add_argument("--out", help="JSON lines file to append to")
    args = parser.parse_args()
    setting, values = args.rescore
    names = [n for n in suite_series(args.suite) if not args.only or n in args.only.split(",")]
    torch.set_num_threads(1)
    records = []
    for seed in args.seeds:
        for name in names:
            for record in rescore(args.suite, args.model, seed, name, setting, values):
                records.append(record)
                print(json.dumps(record), flush=True)
                if args.out:
                    with open(args.out, "a") as out:
                        out.write(json.dumps(record) + "\n")
    for value in values:
        mine = [r for r in records if r[setting] == value]
        print(f"{args.model} {setting}={value}: mean over {len(mine)} cells "
              + " ".join(f"{m} {np.mean([r[m] for r in mine]):.3f}" for m in ("vus_pr", "vus_roc", "auprc", "auroc")))


if __name__ == "__main__":
    main()
