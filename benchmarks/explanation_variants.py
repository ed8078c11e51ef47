"""Does a model's explanation rank channels better than its plain reconstruction error does?

Usage: python benchmarks/explanation_variants.py SUITE MODEL [SEED]

For each series of SUITE (smd or asd, the suites with interpretation labels), the model is fitted on the
training part as ``genad bench-ts`` fits it, and two per-channel contributions of the test part are scored
against the labels (HitRate@100% and NDCG@100%, ``genad.metrics.interpretation``):
- ``explain``: the model's own explanation (OmniAnomaly: each channel's -log p(x | z); TranAD: each
  channel's term of its score);
- ``squared error``: ``(x - restore(x))^2``, the squared difference to the model's restored series.
Prints one line per series and the means over series.
"""
import sys

import pandas as pd
import torch

from genad.bench.timeseries import build_series_model, load_series, standardise, suite_series
from genad.metrics.interpretation import interpretation_scores


def compare(suite: str, model: str, seed: int) -> pd.DataFrame:
    rows = []
    for name in suite_series(suite):
        series = load_series(suite, name)
        train, test = standardise(series.train, series.test)
        detector = build_series_model(model, seed).fit(train)
        variants = {"explain": detector.explain(test), "squared error": (test - detector.restore(test)) ** 2}
        for variant, contributions in variants.items():
            scores = interpretation_scores(contributions, series.channels)
            rows.append({"series": name, "variant": variant, "hit@100": scores["hit@100"],
                         "ndcg@100": scores["ndcg@100"]})
        print(pd.DataFrame(rows[-2:]).round(3).to_string(index=False, header=False), flush=True)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    torch.set_num_threads(1)
    suite, model = sys.argv[1], sys.argv[2]
    table = compare(suite, model, int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    print(table.groupby("variant")[["hit@100", "ndcg@100"]].mean().round(4).to_string())
