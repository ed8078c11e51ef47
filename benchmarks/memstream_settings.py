"""What closes the gap between label-free MemStream and the paper's setting on the streams suite? A diagnosis.

The paper's setting (``memstream-paper`` in the suite) differs from label-free ``memstream`` in two ways at once:
labels pick its warm-up rows (the first ``memory_size`` *normal* records), and each stream gets the paper's own
settings (beta, memory size and, for SYN, the identity encoder: ``MemStream.preset``). This script separates them.
For every stream of the suite (its cut, seeds 0-2) it runs the paper's per-stream settings with the label-free
warm-up, the first ``memory_size`` records whatever they are, and prints the AUROC beside those of the suite's two
MemStream rows read from a results file. Streams without a preset get beta 0.1 and the suite's warm-up window as
the memory, as ``memstream-paper`` does. AUROCs cover the records after the suite's warm-up window, as the
suite's do (:func:`genad.bench.streams.prequential_part`).

Usage: python benchmarks/memstream_settings.py RESULTS   (e.g. results/streams_v5.sqlite; run with OMP_NUM_THREADS=1)
"""
from __future__ import annotations

import argparse
import sqlite3

import numpy as np

SEEDS = (0, 1, 2)


def stored_aurocs(results: str, model: str) -> dict[str, float]:
    """Mean AUROC over seeds 0-2 per stream of one model of the suite's results file."""
    with sqlite3.connect(results) as db:
        rows = db.execute("select dataset, avg(auroc) from cells where model = ? and status = 'ok' and seed in "
                          "(0, 1, 2) group by dataset", (model,)).fetchall()
    return dict(rows)


def main() -> None:
    import torch

    from genad.bench.streams import cut_stream, prequential_part, warm_up_size
    from genad.data.streams import STREAMS, load_stream
    from genad.metrics import auroc
    from genad.models.streaming.memstream import PAPER_SETTING, PRESETS, MemStream

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="the streams suite's results file, for the two stored MemStream rows")
    args = parser.parse_args()
    torch.set_num_threads(1)
    label_free, paper = stored_aurocs(args.results, "memstream"), stored_aurocs(args.results, "memstream-paper")
    print("| stream | label-free default | paper's settings, first records | paper's settings, first normal records |")
    print("|---|---|---|---|")
    means = []
    for dataset in STREAMS:
        X, y = cut_stream(*load_stream(dataset))
        params = PRESETS.get(dataset, {"beta": 0.1, "memory_size": warm_up_size(len(X))})
        aurocs = []
        for seed in SEEDS:
            det = MemStream(random_state=seed, **{**PAPER_SETTING, **params})
            det.warm_up(X[:det.memory_size])  # no labels: the first records, whatever they are
            aurocs.append(auroc(*prequential_part(y, det.process(X))))
        row = (label_free[dataset], float(np.mean(aurocs)), paper[dataset])
        means.append(row)
        print(f"| {dataset} | " + " | ".join(f"{v:.3f}" for v in row) + " |", flush=True)
    print("| **mean** | " + " | ".join(f"**{v:.3f}**" for v in np.mean(means, axis=0)) + " |")


if __name__ == "__main__":
    main()
