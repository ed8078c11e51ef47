"""GANF on SMD machine-2-7 (seed 0, as bench-ts builds it): how are the short labelled ranges scored?

A diagnosis with the test labels, kept as it was run (twenty-fifth session, 22:29-22:50 UTC 2026-12-01, at commit
9c70732, before ``score_unit`` existed: its per-step point NLL is what ``score_unit="step"`` now scores, up to a
factor). For each labelled range it prints how many steps score above the range's highest score, under the bench's
window score and under two per-step scores of the same fit; then which series carry the first three ranges' NLL.
Nothing here chose a default: see BENCHMARKS.md, "GANF's score unit".

Usage: OMP_NUM_THREADS=1 python benchmarks/ganf_score_unit_diagnosis.py   (about 16 minutes on one core)
"""
import numpy as np, torch
from genad.data.timeseries import load_smd
from genad.bench.timeseries import standardise, build_series_model
from genad.metrics.vus import vus
from genad.metrics.ranges import ranges
torch.set_num_threads(1)
s = load_smd("machine-2-7"); train, test = standardise(s.train, s.test)
lab = s.labels.astype(int)
det = build_series_model("ganf", 0).fit(train)
net = det.module_
test_m = test[:, det.modelled_channels_]
point_nll = det._to_steps(det._apply(lambda b: -net.point_log_prob(b), det._windows(test_m, det.score_stride)), len(test_m))
variants = {"bench (window mean)": det.decision_function(test),
            "per-step point NLL, summed over channels": point_nll.sum(1),
            "per-step max channel point NLL": point_nll.max(1)}
r = ranges(lab)
for name, sc in variants.items():
    print(name, {k: round(v, 3) for k, v in vus(lab, sc).items()}, "unit max ranks",
          [int((sc > sc[a:b + 1].max()).sum()) for a, b in r], flush=True)
# a short daily range: which channels carry the point NLL, and their parents' weights
for a, b in r[:3]:
    rows = point_nll[a:b + 1].sum(0); top = np.argsort(rows)[-3:][::-1]
    base = np.median(point_nll, 0)
    print(f"range {a}-{b}: top channels (modelled idx) {top.tolist()} nll {np.round(rows[top] / (b - a + 1), 2).tolist()} "
          f"median elsewhere {np.round(base[top], 2).tolist()}; |z| moves of all channels max {np.abs(test[a:b+1] - test[a-5:a].mean(0)).max():.2f}")
