"""The ``streams`` suite: prequential evaluation of streaming detectors on streams in arrival order.

Each record after the warm-up window is scored before the detector learns from it. Reported per
(stream, model, seed): AUROC and AUPRC over the stream after its warm-up window, the AUROC in each of
``n_windows`` consecutive windows of that part (with their mean and the worst; a window holding one
class only has none), records per second of the streaming pass (warm-up training timed apart), and peak memory
(resident memory above the level after the model is built, over warm-up and stream). Results go to
the benchmark's result store (suite ``streams``, protocol ``prequential``); ``genad bench-streams``
runs the suite and ``genad report`` shows it, with a figure of every model's AUROC window by window.

The warm-up window (the first :func:`warm_up_size` records) is streamed through every model but is
left out of every metric, for every model alike: the genad models train on it before they score it
(their scores there are in-sample), RS-Hash reads its feature ranges from it, and the baselines that
start cold score it with an empty state. ``extra["auroc_with_warm_up"]`` keeps the AUROC over every
record, as MemStream's reference code computes it, for comparison with the paper only.

Models: ``memstream`` (label-free: warms up on the first records whatever they are), ``meter``
(label-free too), ``memstream-paper`` (the paper's setting: per-dataset preset and warm-up on the
first ``memory_size`` *normal* records, chosen by label, as the reference code does, and beta 0.1
where the paper has no preset; reported for comparison with the paper, not a label-free result),
and the baselines ``hst`` (river's HalfSpaceTrees after an online min-max scaler), ``xstream`` and
``rshash`` (PySAD, when installed), each with its library's defaults. HalfSpaceTrees scores 0 until its
first window of 250 records is full, which on ionosphere (351 records), pima and cardio reaches past the
warm-up window into the scored part.

Streams longer than ``max_records`` are cut to the contiguous stretch of that length that holds the most
anomalies (the earliest such stretch: the head when it holds as many), so that a cut keeps as much of the
stream's evaluation as it can; every model sees the same records. With the default 50,000: cover keeps its
head (2,160 of its 2,747 anomalies), http the stretch from record 280,771 (2,005 of 2,211) and smtp the one
from record 11,673 (27 of 30); none of the three has an anomaly in its warm-up window. The warm-up window is
``min(2048, n_records // 10)`` records (METER's 10% rule, MemStream's largest memory).
``memstream-paper`` warms up on the first ``memory_size`` *normal* records, which can lie past that
window (up to record 3,875 on NSL-KDD, 4,207 on cover); it scores those after learning them, as the
reference does.
NSL-KDD's one-hot columns come from the categories of the whole stream (see
:func:`genad.data.streams.load_nsl_kdd`).
"""
from __future__ import annotations

import argparse
import importlib.util
import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from genad.bench.report import PLOT_POINTS, downsample_mean
from genad.bench.runner import PeakMemory, provenance
from genad.bench.stats import interval_text
from genad.bench.store import ResultStore, scores_sha256
from genad.data.streams import STREAMS, load_stream
from genad.metrics import auprc, auroc

if TYPE_CHECKING:
    import pandas as pd

SUITE, PROTOCOL = "streams", "prequential"
MODELS = ("memstream", "meter", "memstream-paper", "hst", "xstream", "rshash")
BASELINES = ("hst", "xstream", "rshash")
MAX_RECORDS = 50_000
N_WINDOWS = 10


def cut_stream(X: np.ndarray, y: np.ndarray, max_records: int = MAX_RECORDS) -> tuple[np.ndarray, np.ndarray]:
    """The contiguous stretch of at most ``max_records`` records that holds the most anomalies (the earliest
    such stretch, so the head when it holds as many)."""
    if len(X) <= max_records:
        return X, y
    anomalies_before = np.r_[0, np.cumsum(y)]
    start = int(np.argmax(anomalies_before[max_records:] - anomalies_before[:-max_records]))
    return X[start:start + max_records], y[start:start + max_records]


def warm_up_size(n_records: int) -> int:
    """Records of a stream's warm-up window: learned from before they are scored, so left out of the metrics."""
    return int(min(2048, max(16, n_records // 10)))


def prequential_part(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labels and scores the suite's metrics cover: every record after the warm-up window."""
    n_warm = warm_up_size(len(y))
    return y[n_warm:], scores[n_warm:]


def window_aurocs(y: np.ndarray, scores: np.ndarray, n_windows: int = N_WINDOWS) -> list[float | None]:
    """AUROC of each of ``n_windows`` consecutive windows, in stream order; ``None`` where a window
    holds one class only (its AUROC is undefined)."""
    return [auroc(y[idx], scores[idx]) if 0 < y[idx].sum() < len(idx) else None
            for idx in np.array_split(np.arange(len(y)), n_windows)]


def score_ranks(scores: np.ndarray) -> np.ndarray:
    """Each score's percentile rank in its stream, in (0, 1] (ties share their mean rank): a scale on which
    models and streams compare, and that one huge score cannot flatten in a plot."""
    from scipy.stats import rankdata

    return rankdata(scores) / len(scores)


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


#: The library each baseline comes from (the ``streams`` extra).
BASELINE_LIBRARIES = {"hst": "river", "xstream": "pysad", "rshash": "pysad"}


def _hst(X, y, seed):
    from river import anomaly, preprocessing

    model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=seed)
    as_dict = lambda row: dict(enumerate(row.tolist()))  # noqa: E731
    return (lambda: None), _per_record(lambda r: model.score_one(as_dict(r)), lambda r: model.learn_one(as_dict(r)))


def _pysad(name: str):
    def build(X, y, seed):
        from pysad.models import RSHash, xStream

        warm = X[:warm_up_size(len(X))].astype(np.float64)  # RS-Hash's feature ranges: the warm-up window's
        model = (xStream(random_state=seed) if name == "xstream"
                 else RSHash(warm.min(0), warm.max(0), random_state=seed))

        def stream(records):
            rows = records.astype(np.float64)  # timed and measured with the stream, as genad's own conversion
            scores = np.empty(len(rows))
            for i, row in enumerate(rows):
                scores[i] = model.fit_score_partial(row)  # PySAD 0.7 scores, then learns, one record at a time
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
              "anomalies": "natural", "n_test": len(X), "n_test_anomalies": int(y.sum()), **provenance()}
    try:
        warm, stream, det = build_model(model, X, y, seed, dataset)
        with PeakMemory() as memory:
            start = time.perf_counter()
            warm()
            fit_seconds = time.perf_counter() - start
            start, cpu = time.perf_counter(), time.process_time()
            scores = stream(X)
            seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        n_warm = warm_up_size(len(X))  # learned from before scored by some models: in no model's metrics
        y_scored, scored = prequential_part(y, scores)
        per_window = window_aurocs(y_scored, scored)
        windows = [a for a in per_window if a is not None]
        extra = {**record["extra"],
                 "records_per_s": len(X) / seconds, "records_per_cpu_s": len(X) / max(cpu_seconds, 1e-9),
                 "warm_up_records": n_warm, "warm_up_anomalies": int(y[:n_warm].sum()),
                 "auroc_with_warm_up": auroc(y, scores),
                 "window_aurocs": per_window, "n_windows": len(windows),
                 "window_auroc_mean": float(np.mean(windows)) if windows else None,
                 "window_auroc_min": float(np.min(windows)) if windows else None,
                 # for the report's plot of the stream: pooled score percentiles and share of anomalies
                 "plot_score_ranks": downsample_mean(score_ranks(scores)), "plot_anomaly_share": downsample_mean(y)}
        if det is not None:
            extra.update(state_bytes=det.state_nbytes(), memory_updates=int(det.n_updates_))
        record.update(status="ok", auroc=auroc(y_scored, scored), auprc=auprc(y_scored, scored),
                      fit_seconds=fit_seconds, score_seconds=seconds, peak_memory_mb=memory.peak_mb, extra=extra,
                      scores_sha256=scores_sha256(scores))
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
    """Markdown: AUROC per stream and model, the mean over streams, the suite target's line, and each model's
    records per second."""
    import pandas as pd

    from genad.bench.report import markdown_table

    with ResultStore(results, create=False) as store:
        rows = [r for r in store.records() if r["suite"] == SUITE and r["status"] == "ok"]
    if not rows:  # e.g. every cell failed: there is no table to show
        return f"no finished streams cells in {results} yet"
    frame = pd.DataFrame(rows)
    table = frame.pivot_table(index="dataset", columns="model", values="auroc", aggfunc="mean")
    table.loc["mean"] = table.mean()
    speed = frame.pivot_table(index="dataset", columns="model", aggfunc="mean",
                              values="score_seconds").rdiv(frame.groupby("dataset")["n_test"].first(), axis=0)
    per_stream = table.drop(index="mean")
    return ("AUROC (prequential, whole stream)\n\n" + markdown_table(table) + "\n\n" + target_line(per_stream)
            + "\n\nrecords per second of the streaming pass (warm-up excluded)\n\n" + markdown_table(speed.round(0)))


def target_line(per_stream: pd.DataFrame, margin: float = 0.02) -> str:
    """Label-free ``memstream``'s mean AUROC against the best baseline's (the Streams issue's suite target),
    with a bootstrap interval of the difference over streams (``per_stream``: AUROC, stream x model)."""
    baselines = [m for m in BASELINES if m in per_stream]
    if "memstream" not in per_stream or not baselines:
        return "suite target not evaluated (needs memstream and a baseline in the same file)"
    means = per_stream.mean()
    best = means[baselines].idxmax()
    gap = means["memstream"] - means[best]
    return (f"memstream {means['memstream']:.3f} vs best baseline {best} {means[best]:.3f}: difference {gap:+.3f} "
            f"{interval_text(per_stream, 'memstream', best, 'streams')} (target +{margin}): "
            + ("MET" if gap >= margin else "NOT met"))


def report_sections(cells: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The streams suite's own part of ``genad report``: HTML parts and Markdown lines.

    Per stream and model (means over seeds): records per second of the streaming pass, the mean and the
    worst window AUROC, and a figure of the AUROC in each of the ``N_WINDOWS`` consecutive windows, which
    shows where in the stream a model loses track (cells stored before the per-window list was kept
    appear in the tables only).
    """
    import pandas as pd

    from genad.bench.report import html_table, markdown_table

    ok = cells[cells.status == "ok"]
    extra = pd.DataFrame(list(ok.extra), index=ok.index)
    frame = pd.concat([ok[["dataset", "model", "seed", "n_test"]], extra], axis=1)
    tables = {
        "Records per second of the streaming pass (warm-up excluded)": "records_per_s",
        "Mean AUROC over the stream's windows": "window_auroc_mean",
        "Worst window AUROC": "window_auroc_min",
    }
    html_parts, md = [], []
    for title, column in tables.items():
        if column not in frame:
            continue
        table = frame.pivot_table(index="dataset", columns="model", values=column, aggfunc="mean")
        html_parts.append(f"<h3>{title}</h3>{html_table(table)}")
        md += [f"\n{title}:\n", markdown_table(table)]
    if "window_aurocs" in frame and frame.window_aurocs.notna().any():
        html_parts.append(f'<img alt="AUROC per window" src="data:image/png;base64,{window_plot(frame)}">')
    if "plot_score_ranks" in frame:
        for stream, cells_of_stream in frame[frame.plot_score_ranks.notna()].groupby("dataset"):
            first_seed = cells_of_stream[cells_of_stream.seed == cells_of_stream.seed.min()]
            image = score_plot(stream, first_seed)
            html_parts.append(f'<img alt="{stream} scores" src="data:image/png;base64,{image}">')
    return html_parts, md


def score_plot(stream: str, cells: pd.DataFrame) -> str:
    """One stream as a base64 PNG, one panel per model: the share of anomalies in each stretch of the stream
    (red area, and a red tick under each stretch that holds any) and the model's mean score percentile there
    (blue line), in arrival order. A model that detects the anomalies has its line rise where the red does."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genad.bench.report import png_data_uri

    cells = cells.sort_values("model")
    fig, axes = plt.subplots(len(cells), 1, figsize=(11, 0.5 + 0.8 * len(cells)), sharex=True, squeeze=False)
    for ax, row in zip(axes[:, 0], cells.itertuples()):
        ranks, share = np.asarray(row.plot_score_ranks), np.asarray(row.plot_anomaly_share)
        position = (np.arange(ranks.size) + 0.5) * row.n_test / ranks.size  # the middle record of each stretch
        ax.fill_between(position, share, color="red", alpha=0.25, lw=0)
        ax.vlines(position[share > 0], 0, 0.1, color="red", lw=0.8)  # a tick under every stretch with an anomaly
        ax.plot(position, ranks, lw=0.6)
        ax.set_ylim(0, 1)
        ax.set_ylabel(row.model, rotation=0, ha="right", fontsize=7)
        ax.set_yticks([])
    axes[0, 0].set_title(f"{stream} (first seed), in at most {PLOT_POINTS} stretches: share of anomalies (red) and "
                         "mean score percentile (blue); red ticks: stretches with an anomaly", fontsize=9)
    axes[-1, 0].set_xlabel("record")
    fig.tight_layout()
    return png_data_uri(fig)


def window_plot(frame: pd.DataFrame) -> str:
    """One panel per stream: each model's AUROC (mean over seeds) in each consecutive window, as a base64 PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genad.bench.report import png_data_uri

    frame = frame[frame.window_aurocs.apply(lambda w: isinstance(w, list))]
    n_windows = max(len(w) for w in frame.window_aurocs)
    streams = sorted(frame.dataset.unique())
    columns = min(4, len(streams))
    rows = -(-len(streams) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.6 * rows), squeeze=False, sharey=True)
    # one colour per model, the same in every panel
    colours = {model: f"C{i % 10}" for i, model in enumerate(sorted(frame.model.unique()))}
    for ax, stream in zip(axes.flat, streams):
        for model, group in frame[frame.dataset == stream].groupby("model"):
            per_seed = np.array([[np.nan if a is None else a for a in w] for w in group.window_aurocs], dtype=float)
            seeds = np.isfinite(per_seed).sum(axis=0)
            mean = np.where(seeds > 0, np.nansum(per_seed, axis=0) / np.maximum(seeds, 1), np.nan)
            ax.plot(np.arange(1, len(mean) + 1), mean, marker=".", color=colours[model], label=model)
        ax.set_title(stream, fontsize=9)
        ax.axhline(0.5, color="grey", lw=0.5, ls=":")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(0.5, n_windows + 0.5)
        ax.set_xticks(range(1, n_windows + 1))
    for ax in list(axes.flat)[len(streams):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("AUROC")
    for ax in axes[-1]:
        ax.set_xlabel("window of the stream")
    handles = [plt.Line2D([], [], color=colour, marker=".") for colour in colours.values()]
    fig.legend(handles, list(colours), loc="lower center", ncol=min(6, len(colours)), fontsize=8,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("AUROC in consecutive windows (mean over seeds; gaps: a window with one class only)")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return png_data_uri(fig)


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


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    from genad.bench.cli import comma_list, parse_seeds

    parser.add_argument("--results", default="results/streams.sqlite", help="SQLite results file (created or resumed)")
    parser.add_argument("--datasets", type=comma_list, default=list(STREAMS),
                        help=f"comma-separated (default all: {','.join(STREAMS)})")
    parser.add_argument("--models", type=comma_list, default=list(MODELS),
                        help=f"comma-separated (default all: {','.join(MODELS)})")
    parser.add_argument("--seeds", type=parse_seeds, default=[0], help="comma-separated (default 0)")
    parser.add_argument("--max-records", type=int, default=MAX_RECORDS,
                        help=f"longer streams are cut to this many contiguous records (default {MAX_RECORDS})")
    parser.add_argument("--rerun", action="store_true", help="run cells again even when the file holds them")
    parser.add_argument("--throughput", action="store_true",
                        help="only time `process` of each model on each dataset (whole stream, no store)")


def cmd_bench_streams(args: argparse.Namespace) -> int:
    from genad.bench.cli import require_items
    from genad.bench.store import check_results_target

    require_items(datasets=args.datasets, models=args.models, seeds=args.seeds)
    for kind, names, known in (("stream", args.datasets, STREAMS), ("streams model", args.models, MODELS)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ValueError(f"unknown {kind}(s) {unknown}; expected some of {list(known)}")
    if args.max_records < 1:
        raise ValueError(f"--max-records must be >= 1, got {args.max_records}")
    missing = sorted({BASELINE_LIBRARIES[m] for m in args.models
                      if m in BASELINE_LIBRARIES and importlib.util.find_spec(BASELINE_LIBRARIES[m]) is None})
    if missing:  # checked before the run: else every baseline cell would fail on its own
        raise ImportError(f"the baselines {[m for m in args.models if BASELINE_LIBRARIES.get(m) in missing]} need "
                          f"{', '.join(missing)}, which is not installed: pip install 'genad[streams]'")
    if args.throughput:  # writes no results file
        for dataset in args.datasets:
            for model in args.models:
                print(dataset, model, {k: round(v, 2) for k, v in measure_throughput(model, dataset).items()})
        return 0
    check_results_target(args.results)
    done = run_suite(args.results, args.datasets, args.models, tuple(args.seeds), args.max_records, args.rerun)
    print(summary_table(args.results))
    return 1 if any(record["status"] == "failed" for record in done) else 0


def add_commands(subparsers) -> None:
    """Add ``bench-streams`` to the ``genad`` command line."""
    p = subparsers.add_parser(
        "bench-streams", help="run the streams suite (prequential) into a results file (resumable)",
        description="Prequential evaluation: every record is scored before the model learns from it. "
                    "A re-run with the same --results skips finished cells; `genad report` makes the report.")
    _add_arguments(p)
    p.set_defaults(func=cmd_bench_streams)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="genad streams suite (prequential); same as `genad bench-streams`")
    _add_arguments(parser)
    return cmd_bench_streams(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
