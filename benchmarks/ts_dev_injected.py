"""Development data for the time-series defaults, built without any benchmark test label.

For each SMD machine, the first 70% of its *training* split is fitted; labelled anomalies made with
``genad.synthesis`` are injected into the last 30% (global and contextual points; shapelet, seasonal and trend
segments of 15, 50 and 120 steps; one channel at a time in the first half, five channels at once in the second),
which is then scored. Prints the mean VUS-PR over the machines, then each machine's. Only channels that vary
receive anomalies (since the eighth session; before, constant stretches were labelled without changing, and the
figures in BENCHMARKS.md made before then came from that earlier data: see there).

``--suite asd`` builds the same data from the 12 ASD entities' training splits instead (twelfth session): shorter
series of 19 channels, where a model's optimizer steps per epoch are fewer than on SMD.

``--rescore NAME=V1,V2`` fits each model once per series and scores it once per value of ``NAME``, a setting
that only changes scoring (twenty-fifth session: GANF's ``score_unit=window,step``); ``--only A,B`` keeps
those series (to share the series among processes).

Usage: python benchmarks/ts_dev_injected.py [--suite smd|asd] [--only A,B] [--rescore NAME=V1,V2] 'dbls_ae' 'win:ae' ...
"""
import argparse
import time

import numpy as np
import torch

from genad.bench.timeseries import build_series_model, standardise
from genad.data import asd_entities, load_asd, load_smd, smd_machines
from genad.metrics import vus
from genad.synthesis.timeseries import inject_anomalies
from ts_rescore import parse_rescore  # this folder: one reading of --rescore for both scripts

POINT_KINDS = [("global", 2, 2), ("contextual", 2, 2)]  # (kind, length, how many)
SEGMENT_KINDS = [(kind, length, 1) for kind in ("shapelet", "seasonal", "trend") for length in (15, 50, 120)]


#: suite -> (the names of its series, a loader whose result has the series' ``.train`` split)
SOURCES = {"smd": (smd_machines, load_smd), "asd": (asd_entities, load_asd)}


def development_split(machine: str, fit_share: float = 0.7, seed: int = 0, suite: str = "smd"):
    """(standardised fit part, standardised development part with injected anomalies, labels)."""
    train = SOURCES[suite][1](machine).train
    cut = int(len(train) * fit_share)
    fit, dev = train[:cut], train[cut:].astype(np.float64)
    active = np.flatnonzero(fit.std(0) > 1e-3)  # constant channels get no anomaly
    part, labels = dev[:, active].copy(), np.zeros(len(dev), dtype=int)
    half = len(dev) // 2
    rng = np.random.default_rng(seed)
    for i, (kind, length, n) in enumerate(POINT_KINDS + SEGMENT_KINDS):
        part[:half], injected = inject_anomalies(part[:half], kind, n=n, length=length, seed=seed * 100 + i)
        labels[:half] |= injected
        varying = np.flatnonzero(np.ptp(part[half:], axis=0) > 0)  # channels constant here would stay unchanged
        for channel in rng.choice(varying, size=min(5, varying.size), replace=False):
            # one seed for the whole group: the same positions on each of the five channels
            try:
                part[half:, channel], injected = inject_anomalies(part[half:, channel], kind, n=n, length=length,
                                                                  seed=seed * 100 + 50 + i)
            except ValueError:  # the anomaly would change nothing there (a flat stretch): this channel gets none
                continue
            labels[half:] |= injected
    dev[:, active] = part
    fit, dev = standardise(fit, dev)
    return fit, dev, labels


def evaluate(spec: str, suite: str = "smd", only: list[str] | None = None,
             rescore: tuple[str, list] | None = None) -> dict[str, list[float]]:
    """Development VUS-PR per series: ``{spec: [...]}``, or one list per ``rescore`` value of one fit."""
    results: dict[str, list[float]] = {}
    for name in SOURCES[suite][0]():
        if only and name not in only:
            continue
        fit, dev, labels = development_split(name, suite=suite)
        model = build_series_model(spec, 0).fit(fit)
        for label, value in ([(spec, None)] if rescore is None else
                             [(f"{spec} {rescore[0]}={v}", v) for v in rescore[1]]):
            if value is not None:
                model.set_params(**{rescore[0]: value})
            results.setdefault(label, []).append(vus(labels, model.decision_function(dev))["vus_pr"])
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Development VUS-PR of time-series models (no test label).")
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--suite", default="smd", choices=sorted(SOURCES))
    parser.add_argument("--only", help="comma-separated series to keep")
    parser.add_argument("--rescore", type=parse_rescore, help="NAME=V1,V2: a setting that changes scoring only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for spec in args.specs:
        start = time.time()
        for label, results in evaluate(spec, args.suite, args.only and args.only.split(","), args.rescore).items():
            print(f"{label:40s} VUS-PR {np.mean(results):.3f}  " + " ".join(f"{v:.3f}" for v in results)
                  + f"  ({time.time() - start:.0f} s)", flush=True)
