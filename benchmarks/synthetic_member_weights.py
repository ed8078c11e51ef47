"""Can synthetic anomalies tell an ensemble which members to trust? A development-data experiment.

For each (dataset, seed) of the development collection, one-class protocol:

1. Hold out a fifth of the fitted (normal) rows, fit every candidate model on the rest, and score the held-out rows
   together with as many synthetic anomalies of each ADBench type (``genad.synthesis``: local, dependency, global,
   clustered), generated from the rows the models were fitted on. Each model's AUROC there is its *synthetic AUROC*.
2. Fit every candidate on all fitted rows and score the test split, as the benchmark does.

Then several ways of combining the candidates' standardised test scores are compared by their mean test AUROC:
each model alone, the equal-weight mean (the ``ensemble`` model's rule), the model with the best synthetic AUROC,
the two best, and weights proportional to ``synthetic AUROC - 0.5``. No test label enters a weight; the test labels
only judge the rules. The idea follows unsupervised model selection with synthetic anomalies (e.g. Fung et al.,
"Model selection of anomaly detectors in the absence of labeled validation data", 2023).

Usage: python benchmarks/synthetic_member_weights.py [DATASETS] [SEEDS] [JOBS]
       (defaults: dev:tabular 0,1 2; run with OMP_NUM_THREADS=1)
"""
from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

CANDIDATES = ("ae", "realnvp", "dte?kind=nonparametric", "maf", "made", "dsebm")
ENSEMBLE_MEMBERS = ("ae", "realnvp", "dte?kind=nonparametric")  # the ensemble model's default members
ANOMALY_TYPES = ("local", "dependency", "global", "clustered")
HELD_OUT = 0.2


def fitted(spec: str, X: np.ndarray, seed: int):
    from genad.registry import create, parse_spec

    name, params = parse_spec(spec)
    return create(name, random_state=seed, **params).fit(X)


def run_pair(task: tuple) -> dict:
    """Synthetic AUROCs, standardised test scores and test labels of every candidate on one (dataset, seed)."""
    import torch

    from genad.bench.datasets import load_dataset
    from genad.bench.protocol import cap_rows, make_split
    from genad.metrics import auroc
    from genad.synthesis import generate_anomalies

    ref, seed = task
    torch.set_num_threads(1)
    split = make_split(*cap_rows(*load_dataset(ref)), seed, "one-class")
    order = np.random.default_rng(seed).permutation(len(split.X_fit))
    n_held = max(10, int(HELD_OUT * len(order)))
    inner, held = split.X_fit[order[n_held:]], split.X_fit[order[:n_held]]
    synthetic = {kind: generate_anomalies(kind, inner, n_held, seed=seed) for kind in ANOMALY_TYPES}
    labels = np.r_[np.zeros(n_held), np.ones(n_held)]
    result = {"dataset": ref.name, "seed": seed, "y_test": split.y_test, "synthetic_auroc": {}, "test_z": {}}
    for spec in CANDIDATES:
        model = fitted(spec, inner, seed)
        held_scores = model.decision_function(held)
        result["synthetic_auroc"][spec] = {
            kind: auroc(labels, np.r_[held_scores, model.decision_function(anomalies)])
            for kind, anomalies in synthetic.items()}
        model = fitted(spec, split.X_fit, seed)
        train = model.decision_scores_
        result["test_z"][spec] = (model.decision_function(split.X_test) - train.mean()) / (train.std() or 1.0)
    print(ref.name, seed, {spec: round(float(np.mean(list(a.values()))), 3)
                           for spec, a in result["synthetic_auroc"].items()}, flush=True)
    return result


def synthetic_quality(pair: dict, spec: str) -> float:
    return float(np.mean(list(pair["synthetic_auroc"][spec].values())))


def rules(pool: tuple[str, ...]) -> dict:
    """Combination rules over ``pool``: each maps a pair's results to test scores."""
    def weighted(pair):
        weights = np.array([max(synthetic_quality(pair, s) - 0.5, 0.0) for s in pool])
        weights = weights / weights.sum() if weights.sum() > 0 else np.full(len(pool), 1 / len(pool))
        return sum(w * pair["test_z"][s] for w, s in zip(weights, pool))

    def best_k(k):
        return lambda pair: np.mean([pair["test_z"][s] for s in
                                     sorted(pool, key=lambda s: -synthetic_quality(pair, s))[:k]], axis=0)

    tag = f"{len(pool)} models"
    return {f"equal mean, {tag}": lambda pair: np.mean([pair["test_z"][s] for s in pool], axis=0),
            f"best synthetic AUROC, {tag}": best_k(1), f"two best synthetic AUROCs, {tag}": best_k(2),
            f"weights synthetic AUROC - 0.5, {tag}": weighted}


def main(argv: list[str]) -> None:
    from genad.bench.datasets import resolve_datasets
    from genad.metrics import auroc

    datasets = argv[0] if argv else "dev:tabular"
    seeds = [int(s) for s in (argv[1] if len(argv) > 1 else "0,1").split(",")]
    jobs = int(argv[2]) if len(argv) > 2 else 2
    tasks = [(ref, seed) for ref in resolve_datasets([datasets]) for seed in seeds]
    with ProcessPoolExecutor(jobs) as pool:
        pairs = list(pool.map(run_pair, tasks))
    table = {spec: (lambda pair, spec=spec: pair["test_z"][spec]) for spec in CANDIDATES}
    table.update(rules(ENSEMBLE_MEMBERS))
    table.update(rules(CANDIDATES))
    print(f"\nmean test AUROC over {len(pairs)} (dataset, seed) pairs, one-class")
    means = {name: np.mean([auroc(p["y_test"], rule(p)) for p in pairs]) for name, rule in table.items()}
    for name, value in sorted(means.items(), key=lambda item: -item[1]):
        print(f"{value:.4f}  {name}")
    print("\nmean synthetic AUROC per anomaly type")
    for spec in CANDIDATES:
        print(f"{spec:<26}", {kind: round(float(np.mean([p['synthetic_auroc'][spec][kind] for p in pairs])), 3)
                              for kind in ANOMALY_TYPES})


if __name__ == "__main__":
    main(sys.argv[1:])
