"""The ``streams`` suite: prequential evaluation of streaming detectors on streams in arrival order.

Each record is scored before the detector learns from it. Reported per (stream, model, seed):
AUROC and AUPRC over the whole stream, the mean and worst AUROC over ``n_windows`` consecutive
windows (windows holding one class only are skipped), records per second of the streaming pass
(warm-up training timed apart), and peak memory. Results go to the benchmark's result store
(suite ``streams``, protocol ``prequential``).

Models: ``memstream`` (label-free: warms up on the first records whatever they are), ``meter``
(label-free too), ``memstream-paper`` (the paper's setting: per-dataset preset and warm-up on the
first ``memory_size`` *normal* records, chosen by label, as the reference code does, and beta 0.1
where the paper has no preset; reported for comparison with the paper, not a label-free result),
and the baselines ``hst`` (river's HalfSpaceTrees after an online min-max scaler), ``xstream`` and
``rshash`` (PySAD, when installed).

Streams longer than ``max_records`` are cut to a contiguous stretch of that length: their head, or,
when the head holds no anomaly (http), the stretch that starts ``max_records // 2`` records before
the first anomaly. Every model sees the same records. The warm-up window is
``min(2048, n_records // 10)`` records (METER's 10% rule, MemStream's largest memory).
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

from genad.bench.runner import PeakMemory
from genad.bench.store import ResultStore
from genad.data.streams import STREAMS, load_stream
from genad.metrics import auprc, auroc

SUITE, PROTOCOL = "streams", "prequential"
MODELS = ("memstream", "meter", "memstream-paper", "hst", "xstream", "rshash")
MAX_RECORDS = 50_000
N_WINDOWS = 10


def cut_stream(X: np.ndarray, y: np.ndarray, max_records: int = MAX_RECORDS) -> tuple[np.ndarray, np.ndarray]:
    """A contiguous stretch of at most ``max_records`` records that holds anomalies when the stream does."""
    if len(X) <= max_records:
        return X, y
    start = 0
    if y[:max_records].sum() == 0 and y.sum() > 0:
        start = int(min(max(np.argmax(y) - max_records // 2, 0), len(X) - max_records))
    return X[start:start + max_records], y[start:start + max_records]


def warm_up_size(n_records: int) -> int:
    return int(min(2048, max(16, n_records // 10)))


def window_aurocs(y: np.ndarray, scores: np.ndarray, n_windows: int = N_WINDOWS) -> list[float]:
    """AUROC of each of ``n_windows`` consecutive windows that holds both classes."""
    out = []
    for idx in np.array_split(np.arange(len(y)), n_windows):
        if 0 < y[idx].sum() < len(idx):
            out.append(auroc(y[idx], scores[idx]))
    return out


# --- the models, each as "warm up" and "stream" steps -----------------------------------------------
def _genad_runner(det, warm_rows: np.ndarray) -> tuple[Callable, Callable]:
    return (lambda: det.warm_up(warm_rows)), det.process


def _memstream(X, y, seed):
    from genad.models.streaming import MemStream

    det = MemStream(random_state=seed, memory_size=warm_up_size(len(X)))
    return _genad_runner(det, X[:det.memory_size]), det


def _memstream_paper(X, y, seed, dataset):
    from genad.models.streaming.memstream import PAPER_SETTING, PRESETS, MemStream

    params = dict(PRESETS.get(dataset, {"beta": 0.1, "memory_size": warm_up_size(len(X))}))
    det = MemStream(random_state=seed, **PAPER_SETTING, **params)
    return _genad_runner(det, X[y == 0][:det.memory_size]), det


def _meter(X, y, seed):
    from genad.models.streaming import METER

    det = METER(random_state=seed, warm_up_size=warm_up_size(len(X)))
    return _genad_runner(det, X[:det.warm_up_size]), det


def _per_record(score_one: Callable, learn_one: Callable) -> Callable:
    def stream(X: np.ndarray) -> np.ndarray:
        scores = np.empty(len(X))
        for i, row in enumerate(X):
            scores[i] = score_one(row)
            learn_one(row)
        return scores
    return stream


def _hst(X, y, seed):
    from river import anomaly, preprocessing

    model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=seed)
    as_dict = lambda row: dict(enumerate(row.tolist()))  # noqa: E731
    return (lambda: None), _per_record(lambda r: model.score_one(as_dict(r)), lambda r: model.learn_one(as_dict(r)))


def _pysad(name: str):
    def build(X, y, seed):
        from pysad.models import RSHash, xStream

        warm = X[:warm_up_size(len(X))].astype(np.float64)
        model = (xStream(random_state=seed) if name == "xstream"
                 else RSHash(warm.min(0), warm.max(0), random_state=seed))
        rows = X.astype(np.float64)

        def stream(_X):
            scores = np.empty(len(rows))
            for i, row in enumerate(rows):
                scores[i] = model.fit_score_partial(row)  # PySAD scores, then learns, one record at a time
            return scores
        return (lambda: None), stream
    return build


def build_model(name: str, X: np.ndarray, y: np.ndarray, seed: int, dataset: str):
    """``(warm_up, stream, detector_or_None)`` for a model of the suite."""
    if name == "memstream":
        (warm, stream), det = _memstream(X, y, seed)
    elif name == "memstream-paper":
        (warm, stream), det = _memstream_paper(X, y, seed, dataset)
    elif name == "meter":
        (warm, stream), det = _meter(X, y, seed)
    elif name == "hst":
        (warm, stream), det = _hst(X, y, seed), None
    elif name in ("xstream", "rshash"):
        (warm, stream), det = _pysad(name)(X, y, seed), None
    else:
        raise ValueError(f"unknown streams model {name!r}; expected one of {MODELS}")
    return warm, stream, det


def run_cell(dataset: str, model: str, seed: int, max_records: int = MAX_RECORDS) -> dict[str, Any]:
    """One prequential pass; returns a result-store record."""
    X, y = cut_stream(*load_stream(dataset), max_records)
    record = {"suite": SUITE, "dataset": dataset, "model": model, "seed": seed, "protocol": PROTOCOL,
              "anomalies": "natural", "n_test": len(X), "n_test_anomalies": int(y.sum())}
    try:
        warm, stream, det = build_model(model, X, y, seed, dataset)
        with PeakMemory() as memory:
            start = time.perf_counter()
            warm()
            fit_seconds = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            scores = stream(X)
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        windows = window_aurocs(y, scores)
        extra = {"records_per_s": len(X) / seconds, "records_per_cpu_s": len(X) / max(cpu_seconds, 1e-9),
                 "window_auroc_mean": float(np.mean(windows)) if windows else None,
                 "window_auroc_min": float(np.min(windows)) if windows else None, "n_windows": len(windows)}
        if det is not None:
            extra.update(state_bytes=det.state_nbytes(), memory_updates=int(det.n_updates_))
        record.update(status="ok", auroc=auroc(y, scores), auprc=auprc(y, scores), fit_seconds=fit_seconds,
                      score_seconds=seconds, peak_memory_mb=memory.peak_mb, extra=extra)
    except Exception as err:  # a failed cell is stored, the suite goes on
        record.update(status="failed", error=f"{type(err).__name__}: {err}")
    return record


def run_suite(results: str, datasets=STREAMS, models=MODELS, seeds=(0,), max_records: int = MAX_RECORDS,
              rerun: bool = False) -> list[dict[str, Any]]:
    """Run every (dataset, model, seed) cell not already in ``results``; print one line per cell."""
    done = []
    with ResultStore(results) as store:
        finished = set() if rerun else store.finished_keys()
        for dataset in datasets:
            for model in models:
                for seed in seeds:
                    if (SUITE, dataset, model, seed, PROTOCOL, "natural") in finished:
                        continue
                    record = run_cell(dataset, model, seed, max_records)
                    store.write(record)
                    done.append(record)
                    print(_line(record), flush=True)
    return done


def _line(r: dict[str, Any]) -> str:
    if r["status"] != "ok":
        return f"{r['dataset']:<12} {r['model']:<16} FAILED {r['error']}"
    e = r["extra"]
    return (f"{r['dataset']:<12} {r['model']:<16} auroc {r['auroc']:.3f} auprc {r['auprc']:.3f} "
            f"win {e['window_auroc_mean'] or float('nan'):.3f} {e['records_per_s']:.0f} rec/s "
            f"warm {r['fit_seconds']:.1f}s peak {r['peak_memory_mb']:.0f} MiB")


def summary_table(results: str) -> str:
    """Markdown: AUROC per stream and model, the mean over streams, and memstream's throughput."""
    import pandas as pd

    from genad.bench.report import markdown_table

    with ResultStore(results, create=False) as store:
        rows = [r for r in store.records() if r["suite"] == SUITE and r["status"] == "ok"]
    frame = pd.DataFrame(rows)
    table = frame.pivot_table(index="dataset", columns="model", values="auroc", aggfunc="mean")
    table.loc["mean"] = table.mean()
    speed = frame.pivot_table(index="dataset", columns="model", aggfunc="mean",
                              values="score_seconds").rdiv(frame.groupby("dataset")["n_test"].first(), axis=0)
    return ("AUROC (prequential, whole stream)\n\n" + markdown_table(table)
            + "\n\nrecords per second of the streaming pass (warm-up excluded)\n\n" + markdown_table(speed.round(0)))


def measure_throughput(model: str = "memstream", dataset: str = "nsl_kdd", seed: int = 0) -> dict[str, float]:
    """Warm-up seconds, and wall and CPU records per second of ``process`` over the whole stream."""
    X, y = cut_stream(*load_stream(dataset), max_records=len(load_stream(dataset)[0]))
    warm, stream, _ = build_model(model, X, y, seed, dataset)
    start = time.perf_counter()
    warm()
    warm_seconds = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    stream(X)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {"records": len(X), "warm_up_s": warm_seconds, "process_s": seconds,
            "records_per_s": len(X) / seconds, "records_per_cpu_s": len(X) / cpu_seconds}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="genad streams suite (prequential)")
    parser.add_argument("--results", default="results/streams.sqlite")
    parser.add_argument("--datasets", default=",".join(STREAMS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--max-records", type=int, default=MAX_RECORDS)
    parser.add_argument("--rerun", action="store_true")
    parser.add_argument("--throughput", action="store_true",
                        help="only time `process` of each model on each dataset (whole stream, no store)")
    args = parser.parse_args(argv)
    if args.throughput:
        for dataset in args.datasets.split(","):
            for model in args.models.split(","):
                print(dataset, model, {k: round(v, 2) for k, v in measure_throughput(model, dataset).items()})
        return 0
    run_suite(args.results, args.datasets.split(","), args.models.split(","),
              tuple(int(s) for s in args.seeds.split(",")), args.max_records, args.rerun)
    print(summary_table(args.results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
