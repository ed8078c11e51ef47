"""Is a streaming model's batched ``process`` equal to processing one record at a time, on a real stream?

Builds the model and its warm-up exactly as the ``streams`` suite does (seed 0), then streams the whole stream twice: once
through ``process`` in one call, once record by record. Prints how many scores differ, the largest difference and
the update counts.

Usage: python benchmarks/stream_exactness.py meter nsl_kdd [max_records]
"""
import sys

import numpy as np
import torch

from genad.bench.streams import build_model, cut_stream
from genad.data.streams import load_stream


def compare(model: str, stream: str, max_records: int | None = None) -> None:
    X, y = cut_stream(*load_stream(stream))
    X, y = X[:max_records], y[:max_records]

    def run(one_at_a_time: bool):
        warm_up, _, det = build_model(model, X, y, 0, stream)
        warm_up()
        scores = (np.concatenate([det.process(X[i:i + 1]) for i in range(len(X))]) if one_at_a_time
                  else det.process(X))
        return scores, det.n_updates_

    batched, updates_batched = run(False)
    single, updates_single = run(True)
    print(f"{model} on {stream}: {len(batched)} records, {(batched != single).sum()} scores differ, "
          f"largest difference {np.abs(batched - single).max():.3g}, updates {updates_batched} / {updates_single}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    compare(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None)
