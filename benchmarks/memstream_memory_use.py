"""How much does label-free MemStream's memory follow each stream of the ``streams`` suite? A diagnosis.

For every stream (seed 0, the suite's cut and warm-up window), label-free ``memstream`` with its defaults is warmed
up and run over the stream as the suite runs it. Printed per stream: AUROC, the number of memory updates, and the
share of records that score above the admission threshold (records the memory does not explain, so they can never
enter it) in each tenth of the stream after the warm-up window. With ``--memory-sizes`` it also runs memstream
with smaller memories (``memory_size=m``, warm-up on the first ``m`` records, everything else default) and prints
their AUROCs. AUROCs cover the records after the suite's warm-up window, as the suite's do.

Usage: python benchmarks/memstream_memory_use.py [--memory-sizes 16,64,256]   (run with OMP_NUM_THREADS=1)
"""
from __future__ import annotations

import argparse

import numpy as np


def unexplained_shares(scores: np.ndarray, threshold: float, start: int, parts: int = 10) -> list[float]:
    """Share of records scoring above ``threshold`` in each of ``parts`` stretches after ``start``."""
    return [float(np.mean(chunk > threshold)) for chunk in np.array_split(scores[start:], parts) if len(chunk)]


def main() -> None:
    import torch

    from genad.bench.streams import cut_stream, prequential_part, warm_up_size
    from genad.data.streams import STREAMS, load_stream
    from genad.metrics import auroc
    from genad.models.streaming import MemStream

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-sizes", default="", help="comma-separated smaller memories to try as well")
    args = parser.parse_args()
    sizes = [int(s) for s in args.memory_sizes.split(",") if s]
    torch.set_num_threads(1)
    means = {"default": []} | {m: [] for m in sizes}
    for dataset in STREAMS:
        X, y = cut_stream(*load_stream(dataset))
        window = warm_up_size(len(X))
        det = MemStream(random_state=0, memory_size=window)
        det.warm_up(X[:window])
        scores = det.process(X)
        shares = unexplained_shares(scores, det.beta_, window)
        means["default"].append(auroc(*prequential_part(y, scores)))
        line = (f"{dataset:<14} AUROC {means['default'][-1]:.3f}  updates {det.n_updates_:>5} of {len(X):>6} records"
                f"  unexplained share per tenth {' '.join(f'{s:.2f}' for s in shares)}")
        for m in sizes:
            small = MemStream(random_state=0, memory_size=m)
            small.warm_up(X[:m])
            means[m].append(auroc(*prequential_part(y, small.process(X))))
            line += f"  | memory {m}: {means[m][-1]:.3f}"
        print(line, flush=True)
    print("mean AUROC: " + ", ".join(f"{key}: {np.mean(values):.3f}" for key, values in means.items()))


if __name__ == "__main__":
    main()
