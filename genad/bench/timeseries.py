"""Time-series bench suites ``smd``, ``asd`` and ``nab``, their report, and ``genad bench-ts`` / ``genad report-ts``.

Protocol (one default configuration per model for every series; no tuning on test labels):

1. Each series comes with a training part and a test part (SMD/ASD: as published; NAB: its probationary
   period trains, the first 15% of each series as NAB does, at most 750 rows, see
   :data:`genad.data.timeseries.NAB_TRAIN_FRACTION`; NAB series without labelled windows are skipped).
2. Channels are standardised with the training part's mean and std (a constant channel keeps scale 1);
   scaled values are clipped to [-10, 10] so one channel cannot dominate by itself.
3. The model is fitted on the training part and scores every test step.
4. Metrics on the test part: VUS-PR and VUS-ROC (max buffer 100 steps), AUPRC, AUROC, range-based F1
   (Tatbul et al., flat bias, alpha 0) of the model's own threshold (``threshold_rule_``, set from the
   training scores or, for ``lstm_ad``, its dynamic threshold), best point F1 and point-adjusted F1
   (``optimistic``), fit and score seconds and peak memory. On SMD and ASD, whose channels are labelled for
   each anomaly, models that can ``explain`` also get HitRate@100%/150%, NDCG@100%/150% and IPS@100%/150% of
   their per-channel contributions (:mod:`genad.metrics.interpretation`), on every labelled step and on the
   steps they detect, beside the z-score ranking on those same steps (:func:`explanation_metrics`).

Baselines run on the same windows (length 16, training windows every 4 steps, each step scored by the
mean of its windows): PyOD IForest, LOF, PCA and genad ``ae``, written ``win:pyod:IForest``, ``win:ae``.
Results go to the bench's :class:`~genad.bench.store.ResultStore` (suite = ``smd``/``asd``/``nab``,
dataset = series, protocol ``train-test``), with the time-series metrics in ``extra``. The cells run on the
bench's executors (:func:`~genad.bench.runner.run_bench`): local processes or Dask, a dead worker's cell
retried, failed cells run again on a re-run unless ``--keep-failed``.
"""
from __future__ import annotations

import html
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genad.bench.report import downsample_max, html_document, html_table, markdown_table, png_data_uri
from genad.bench.runner import PeakMemory, provenance, run_bench
from genad.training import warm_up_torch
from genad.bench.stats import bootstrap_interval, interval_text
from genad.bench.store import open_existing, scores_sha256

SUITES = ("smd", "asd", "nab")
PROTOCOL = "train-test"
WINDOW_PREFIX = "win:"
GENAD_MODELS = ("rae_ensemble", "dbls_ae", "omni_anomaly", "lstm_ad", "usad", "tranad", "deepant", "beatgan",
                "mscred", "interfusion", "donut", "ganf")
BASELINES = ("win:pyod:IForest", "win:pyod:LOF", "win:pyod:PCA", "win:ae")
BASELINE_WINDOW, BASELINE_TRAIN_STRIDE = 16, 4
VUS_MAX_BUFFER = 100
CLIP = 10.0


# --- data ----------------------------------------------------------------------------------------
def suite_series(suite: str, data_dir: str | None = None) -> list[str]:
    """Names of the series of a suite."""
    from genad.data import asd_entities, nab_series, smd_machines

    listers = {"smd": smd_machines, "asd": asd_entities, "nab": nab_series}
    if suite not in listers:
        raise ValueError(f"unknown time-series suite {suite!r}; expected one of {SUITES}")
    return listers[suite](data_dir)


def load_series(suite: str, name: str, data_dir: str | None = None):
    from genad.data import load_asd, load_nab, load_smd

    return {"smd": load_smd, "asd": load_asd, "nab": load_nab}[suite](name, data_dir)


def standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale by the training part's mean/std (std 0 -> 1) and clip to [-CLIP, CLIP]."""
    mean, std = train.mean(0), train.std(0)
    std = np.where(std > 1e-8, std, 1.0)
    scale = lambda x: np.clip((x - mean) / std, -CLIP, CLIP).astype(np.float32)  # noqa: E731
    return scale(train), scale(test)


# --- models --------------------------------------------------------------------------------------
def build_series_model(text: str, seed: int):
    """A fresh time-series detector from a spec: a time-series model name (``lstm_ad?epochs=3``) or a
    windowed tabular one (``win:ae``, ``win:pyod:IForest?n_estimators=50``)."""
    import genad
    from genad.bench.models import ModelSpec, build_model
    from genad.registry import parse_spec
    from genad.timeseries import WindowedDetector

    name, params = parse_spec(text)
    if name.startswith(WINDOW_PREFIX):
        inner = name[len(WINDOW_PREFIX):]
        if inner.startswith("pyod:"):
            model, model_params = build_model(ModelSpec(inner, inner, params), seed, 1), None
        else:
            model, model_params = inner, params or None
        return WindowedDetector(model=model, model_params=model_params, window=BASELINE_WINDOW,
                                train_stride=BASELINE_TRAIN_STRIDE, random_state=seed)
    info = genad.get_info(name)
    if "time-series" not in info.modalities:
        raise ValueError(f"model {name!r} is not a time-series model; run a tabular model on windows as "
                         f"'{WINDOW_PREFIX}{name}'")
    return genad.create(name, random_state=seed, **params)


# --- one cell ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SeriesCell:
    """One series x one model x one seed."""

    suite: str
    series: str
    model: str
    seed: int = 0
    threads: int = 1
    data_dir: str | None = None

    @property
    def key(self) -> tuple:
        return (self.suite, self.series, self.model, self.seed, PROTOCOL, "real")


def series_metrics(labels: np.ndarray, scores: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Every time-series metric of one scored series."""
    from genad.metrics import auprc, auroc, best_f1, point_adjusted_f1, range_precision_recall_f1, vus

    out = {"auroc": auroc(labels, scores), "auprc": auprc(labels, scores)}
    out.update(vus(labels, scores, max_buffer=VUS_MAX_BUFFER))
    out.update(range_precision_recall_f1(labels, predictions))
    out["best_f1"] = best_f1(labels, scores)["best_f1"]
    out["pa_f1_optimistic"] = point_adjusted_f1(labels, scores)["pa_f1_optimistic"]
    return out


def flagged_at_best_point_adjusted_f1(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The steps whose own score reaches the threshold of the best point-adjusted F1: the detected steps that
    InterFusion's ``cal_IPS.py`` explains (its ``get_best_f1`` picks the threshold with point adjustment, then
    keeps the labelled steps at or past it, without adjustment)."""
    from genad.metrics import point_adjusted_f1

    return scores >= point_adjusted_f1(labels, scores)["pa_f1_threshold"]


def deviation_ranking(test: np.ndarray) -> np.ndarray:
    """The explanation without a model: each step's channels by how far their values lie from the training
    mean (the absolute z-score, after the suite's scaling and clipping)."""
    return np.abs(test)


def explanation_metrics(model, test: np.ndarray, channels: np.ndarray,
                        detected: np.ndarray | None = None) -> dict[str, float]:
    """HitRate@P%, NDCG@P% and InterFusion's segment-wise IPS@P% of the model's ``explain`` against the series'
    interpretation labels; nothing for a model that cannot explain (the PyOD baselines). A failed explanation
    is recorded as ``explain_error`` and leaves the cell's detection results standing.

    With ``detected`` (a step mask, see :func:`flagged_at_best_point_adjusted_f1`), all three are also computed
    on the labelled steps the model detected, as OmniAnomaly's and InterFusion's authors count them
    (``hit_detected@P``, ``ndcg_detected@P``, ``ips_detected@P``), and so are the z-score ranking's on the same
    steps (``hit_detected_by_deviation@P``, ...): which steps count depends on the model, so the reference has
    to be computed per cell."""
    from genad.metrics.interpretation import interpretation_performance_score, interpretation_scores

    try:
        contributions = model.explain(test)
        out = {**interpretation_scores(contributions, channels),
               **interpretation_performance_score(contributions, channels)}
        if detected is not None and (detected & channels.any(axis=1)).any():
            for name, ranking in (("detected", contributions), ("detected_by_deviation", deviation_ranking(test))):
                scores = {**interpretation_scores(ranking, channels, steps=detected),
                          **interpretation_performance_score(ranking, channels, steps=detected)}
                out.update({key.replace("@", f"_{name}@"): value for key, value in scores.items()})
        return out
    except NotImplementedError:
        return {}
    except (ArithmeticError, ValueError) as err:  # e.g. non-finite contributions from an unstable model
        return {"explain_error": f"{type(err).__name__}: {err}"}


def run_series_cell(cell: SeriesCell) -> dict[str, Any]:
    """Fit on the training part, score the test part, measure; a failure becomes a failed record."""
    import torch
    from threadpoolctl import threadpool_limits

    record: dict[str, Any] = dict(zip(("suite", "dataset", "model", "seed", "protocol", "anomalies"), cell.key))
    record.update(provenance())
    torch.set_num_threads(max(1, cell.threads))
    try:
        with threadpool_limits(limits=max(1, cell.threads)):
            warm_up_torch()
            series = load_series(cell.suite, cell.series, cell.data_dir)
            if series.labels.sum() == 0:
                raise ValueError(f"{cell.series} has no labelled anomaly in its test part")
            train, test = standardise(series.train, series.test)
            with PeakMemory() as memory:
                model = build_series_model(cell.model, cell.seed)
                start = time.perf_counter()
                model.fit(train)
                fit_seconds = time.perf_counter() - start
                start = time.perf_counter()
                scores = np.asarray(model.decision_function(test), dtype=np.float64)
                score_seconds = time.perf_counter() - start
            metrics = series_metrics(series.labels, scores, model.threshold_rule_.predict(scores))
            if series.channels is not None:
                detected = flagged_at_best_point_adjusted_f1(series.labels, scores)
                metrics.update(explanation_metrics(model, test, series.channels, detected))
        record.update(
            status="ok", auroc=metrics.pop("auroc"), auprc=metrics.pop("auprc"), fit_seconds=fit_seconds,
            score_seconds=score_seconds, peak_memory_mb=memory.peak_mb, n_fit=len(train), n_test=len(test),
            n_test_anomalies=int(series.labels.sum()), scores_sha256=scores_sha256(scores),
            extra={**record["extra"], **metrics, "plot_scores": downsample_max(scores)},
        )
    except Exception as err:  # a model's failure is a result, not the end of the run
        record.update(status="failed", error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")
    record["finished_at"] = time.time()
    return record


# --- a whole suite -------------------------------------------------------------------------------
def make_cells(suite: str, models: list[str], seeds: list[int] = (0,), series: list[str] | None = None,
               threads: int = 1, data_dir: str | None = None) -> list[SeriesCell]:
    """Every series x model x seed of a suite (``series=None``: all its series), checked before the run:
    unknown series and models and bad parameters are errors; an empty ``series`` list is zero cells."""
    known = suite_series(suite, data_dir)
    names = known if series is None else list(series)
    unknown = [name for name in names if name not in known]
    if unknown:
        shown = ", ".join(known[:10]) + (f", ... ({len(known)} in all)" if len(known) > 10 else "")
        note = " (series without labelled anomaly windows are not in the suite)" if suite == "nab" else ""
        raise ValueError(f"unknown {suite} series {unknown}{note}; known: {shown}")
    for text in models:
        build_series_model(text, 0)._check_params()  # unknown names and bad parameters fail before the run
    cells = [SeriesCell(suite, name, model, int(seed), threads, data_dir)
             for name in names for model in models for seed in seeds]
    if not cells:
        raise ValueError("the time-series grid has zero cells")
    return cells


def run_suite(cells: list[SeriesCell], results: str, **options: Any) -> dict[str, int]:
    """Run the cells not yet finished in ``results`` (resumable), writing each record as it ends: the bench's
    :func:`~genad.bench.runner.run_bench` with this suite's task, so the same executors (``executor="local"``
    with ``jobs`` processes, or ``"dask"``), retries of dead workers and ``retry_failed`` apply."""
    return run_bench(cells, results, task=run_series_cell, **options)


# --- report --------------------------------------------------------------------------------------
INTERPRETATION_COLUMNS = {"hit@100": "HitRate@100%", "hit@150": "HitRate@150%", "ndcg@100": "NDCG@100%",
                          "ndcg@150": "NDCG@150%", "ips@100": "IPS@100%", "ips@150": "IPS@150%",
                          "hit_detected@100": "HitRate@100%, detected steps",
                          "hit_detected_by_deviation@100": "z-score's HitRate@100%, same steps",
                          "ips_detected@100": "IPS@100%, detected steps",
                          "ips_detected_by_deviation@100": "z-score's IPS@100%, same steps"}
METRIC_COLUMNS = {"vus_pr": "VUS-PR", "vus_roc": "VUS-ROC", "auprc": "AUPRC", "auroc": "AUROC",
                  "range_f1": "range-F1", "best_f1": "best-F1", "pa_f1_optimistic": "PA-F1 (optimistic)"}


def results_frame(results: str | Path) -> pd.DataFrame:
    """The time-series cells of a results file, one row per cell, metrics as columns."""
    rows = [r for r in open_existing(results) if r["suite"] in SUITES]
    if not rows:
        raise ValueError(f"{results} holds no time-series results")
    frame = pd.DataFrame(rows)
    extra = pd.DataFrame([r["extra"] or {} for r in rows])
    for column in ("vus_pr", "vus_roc", "range_f1", "best_f1", "pa_f1_optimistic", *INTERPRETATION_COLUMNS):
        frame[column] = extra[column] if column in extra else np.nan
    frame["plot_scores"] = extra["plot_scores"] if "plot_scores" in extra else None
    return frame


def suite_leaderboard(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean over series (of the mean over seeds) per model, best VUS-PR first.

    As in the tabular report, a model without a score on every series x seed that another model has one for
    gets no means (blank, listed last, out of the target's comparison): its mean would skip the series it
    failed on."""
    from genad.bench.report import finished_every_cell

    ok = cells[cells.status == "ok"]
    per_series = ok.groupby(["dataset", "model"])[list(METRIC_COLUMNS) + ["fit_seconds", "score_seconds"]].mean()
    board = per_series.groupby("model").mean().rename(columns={**METRIC_COLUMNS, "fit_seconds": "fit s",
                                                               "score_seconds": "score s"})
    board = board.where(finished_every_cell(cells).reindex(board.index), axis=0)
    board["series"] = ok.groupby("model").dataset.nunique()
    board["failed"] = cells[cells.status == "failed"].groupby("model").size().reindex(board.index).fillna(0)
    board[["series", "failed"]] = board[["series", "failed"]].astype(int).astype(str)  # counts, not floats
    return board.sort_values("VUS-PR", ascending=False)


#: The two rankings without a model that the explanation table is read against (no ``|`` in the names:
#: they go into Markdown tables).
BY_DEVIATION, IN_RANDOM_ORDER = "(channels by their z-score, abs.)", "(channels in random order)"


def reference_explanations(suite: str, names: list[str], data_dir: str | None = None) -> pd.DataFrame:
    """What explanations without a model score on the same series, one row per series and reference: the
    channels by :func:`deviation_ranking`, and in random order (the expectation: HitRate and IPS, not NDCG)."""
    from genad.metrics.interpretation import interpretation_performance_score, interpretation_scores, random_hit_rate

    rows = []
    for name in names:
        series = load_series(suite, name, data_dir)
        _, test = standardise(series.train, series.test)
        deviation = deviation_ranking(test)
        rows.append({"dataset": name, "model": BY_DEVIATION, **interpretation_scores(deviation, series.channels),
                     **interpretation_performance_score(deviation, series.channels)})
        random_order = random_hit_rate(series.channels)
        # a segment's labelled channels are the same at each of its steps, so its expected hit rate is the steps'
        random_order.update({key.replace("hit", "ips"): value for key, value in random_order.items()})
        rows.append({"dataset": name, "model": IN_RANDOM_ORDER, **random_order})
    return pd.DataFrame(rows)


def explanations_per_series(cells: pd.DataFrame, suite: str, data_dir: str | None = None) -> pd.DataFrame | None:
    """HitRate/NDCG/IPS per series and model (means over seeds), with the references of
    :func:`reference_explanations` when the data can be read; None when no cell of the suite has them."""
    ok = cells[(cells.status == "ok") & cells["hit@100"].notna()]
    if ok.empty:
        return None
    per_series = ok.groupby(["dataset", "model"])[list(INTERPRETATION_COLUMNS)].mean().reset_index()
    try:
        references = reference_explanations(suite, sorted(ok.dataset.unique()), data_dir)
    except (OSError, ValueError):  # no data to read: the table goes without them
        references = pd.DataFrame()
    return pd.concat([per_series, references], ignore_index=True)


def interpretation_board(per_series: pd.DataFrame) -> pd.DataFrame:
    """Means over series per model, best HitRate@100% first, the references last."""
    # columns no cell recorded (the detected-steps IPS in files made before it existed) are left out
    board = per_series.groupby("model")[list(INTERPRETATION_COLUMNS)].mean().dropna(axis=1, how="all")
    references = [name for name in (BY_DEVIATION, IN_RANDOM_ORDER) if name in board.index]
    models = board.drop(index=references).sort_values("hit@100", ascending=False)
    board = pd.concat([models, board.loc[references]])
    board["series"] = per_series.groupby("model").dataset.nunique().reindex(board.index).astype(str)
    return board.rename(columns=INTERPRETATION_COLUMNS)


def explanation_check(per_series: pd.DataFrame) -> str:
    """The best explaining model against the ranking by z-score: HitRate@100% and the bootstrap interval of
    the difference over series."""
    table = per_series.pivot_table(index="dataset", columns="model", values="hit@100")
    models = table.columns.drop([BY_DEVIATION, IN_RANDOM_ORDER], errors="ignore")
    if BY_DEVIATION not in table or models.empty:
        return ""
    best = table[models].mean().idxmax()
    return (f"best explanations {best} {table[best].mean():.3f} HitRate@100% vs channels by their z-score "
            f"{table[BY_DEVIATION].mean():.3f}: difference {table[best].mean() - table[BY_DEVIATION].mean():+.3f} "
            f"{interval_text(table, best, BY_DEVIATION, 'series')}")


def detected_steps_check(per_series: pd.DataFrame, metric: str = "ips") -> str:
    """The model with the best ``metric``@100% (``"ips"``, InterFusion's; ``"hit"``, OmniAnomaly's HitRate) on
    the steps it detects against the z-score ranking on those same steps, paired over series; empty when no
    cell recorded them."""
    column = f"{metric}_detected@100"
    label, protocol = {"ips": ("IPS", "InterFusion's"), "hit": ("HitRate", "OmniAnomaly's")}[metric]
    if column not in per_series or per_series[column].isna().all():
        return ""
    best = per_series.groupby("model")[column].mean().idxmax()
    rows = per_series[per_series.model == best].set_index("dataset")
    same_steps = "z-score ranking, same steps"
    table = pd.DataFrame({best: rows[column], same_steps: rows[f"{metric}_detected_by_deviation@100"]})
    difference = table[best].mean() - table[same_steps].mean()
    return (f"on the steps each model detects ({protocol} protocol), best {best} {table[best].mean():.3f} "
            f"{label}@100% vs {table[same_steps].mean():.3f} for the z-score ranking on the same steps: difference "
            f"{difference:+.3f} {interval_text(table, best, same_steps, 'series')}")


def detected_steps_table(per_series: pd.DataFrame) -> pd.DataFrame | None:
    """Each model against the z-score ranking on the steps that model detects, for HitRate@100% and IPS@100%:
    the mean difference over series, its bootstrap interval, and on how many series the model leads. Two models'
    absolute figures are on different steps; each of these differences is on one model's own steps. None when no
    cell recorded them."""
    cells: dict[str, dict[str, str]] = {}
    for metric, label in (("hit", "HitRate@100%"), ("ips", "IPS@100%")):
        ours, reference = f"{metric}_detected@100", f"{metric}_detected_by_deviation@100"
        if not {ours, reference} <= set(per_series):
            continue
        for model, rows in per_series.dropna(subset=[ours, reference]).groupby("model"):
            difference = (rows[ours] - rows[reference]).to_numpy()
            low, high = bootstrap_interval(difference)
            cells.setdefault(model, {})[f"{label}: model minus z-score, its detected steps"] = (
                f"{difference.mean():+.3f} ({low:+.3f} to {high:+.3f}; ahead on {(difference > 0).sum()} of "
                f"{difference.size})")
    if not cells:
        return None
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("model")


def target_check(board: pd.DataFrame, per_series: pd.DataFrame, suite: str = "smd", margin: float = 0.02) -> str:
    """Whether the best genad time-series model beats the best baseline by ``margin`` mean VUS-PR, with a
    bootstrap interval of the difference over series (``per_series``: VUS-PR, series x model). The Time series
    issue sets this target on SMD; the other suites get the comparison without a verdict.

    The baselines are the issue's (:data:`BASELINES`, with or without parameters); every other model is a genad
    time-series model, a windowed tabular genad model (``win:robust_ae``) too, since the issue's adapter makes
    it one."""
    from genad.registry import parse_spec

    is_baseline = board.index.map(lambda spec: parse_spec(spec)[0] in BASELINES).to_numpy(dtype=bool)
    ours, baselines = board[~is_baseline], board[is_baseline]
    if ours.empty or baselines.empty:
        return "target not evaluated (needs genad models and baselines in the same run)"
    # models without a mean (a cell missing, see suite_leaderboard) are out of the comparison
    ours, baselines = ours.dropna(subset=["VUS-PR"]), baselines.dropna(subset=["VUS-PR"])
    if ours.empty or baselines.empty:
        return ("target not evaluated (no genad model or no baseline has a score on every series x seed that "
                "another model has one for: an unfinished run)")
    best, base = ours["VUS-PR"].idxmax(), baselines["VUS-PR"].idxmax()
    gap = ours.loc[best, "VUS-PR"] - baselines.loc[base, "VUS-PR"]
    verdict = (f"(target +{margin}): " + ("MET" if gap >= margin else "NOT met") if suite == "smd"
               else "(the issue sets its target on smd only)")
    return (f"best genad model {best} {ours.loc[best, 'VUS-PR']:.3f} vs best baseline {base} "
            f"{baselines.loc[base, 'VUS-PR']:.3f}: difference {gap:+.3f} "
            f"{interval_text(per_series, best, base, 'series')} {verdict}")


def series_plot(series, scores_by_model: dict[str, list[float]], title: str) -> str:
    """One series as a base64 PNG: its values (first channels, standardised), its labelled anomaly
    ranges shaded, and each model's scores (max-pooled, min-max scaled) in panels below."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genad.metrics import ranges

    _, test = standardise(series.train, series.test)
    n = len(test)
    fig, axes = plt.subplots(1 + len(scores_by_model), 1, figsize=(11, 1.6 + 0.9 * len(scores_by_model)),
                             sharex=True, gridspec_kw={"height_ratios": [2] + [1] * len(scores_by_model)})
    axes = np.atleast_1d(axes)
    for channel in range(min(test.shape[1], 5)):
        axes[0].plot(np.arange(n), test[:, channel], lw=0.5)
    axes[0].set_title(title, fontsize=9)
    for ax in axes:
        for start, end in ranges(series.labels):
            ax.axvspan(start, end + 1, color="red", alpha=0.15, lw=0)
    for ax, (model, scores) in zip(axes[1:], scores_by_model.items()):
        scores = np.asarray(scores, dtype=np.float64)
        span = np.ptp(scores) or 1.0
        ax.plot(np.linspace(0, n, scores.size), (scores - scores.min()) / span, lw=0.6)
        ax.set_ylabel(model, rotation=0, ha="right", fontsize=7)
        ax.set_yticks([])
    fig.tight_layout()
    return png_data_uri(fig)


def build_timeseries_report(results: str | Path, data_dir: str | None = None,
                            plots: bool = True) -> tuple[str, str]:
    """The HTML document and the Markdown text for the time-series suites of a results file."""
    frame = results_frame(results)
    parts = [f"<h1>genad time-series benchmark</h1><p>Results: <code>{html.escape(str(results))}</code>. "
             f"Metrics are means over series (of means over seeds). PA-F1 is point-adjusted and optimistic: "
             f"read it only beside VUS-PR. Series plots: test part, labelled ranges in red, each model's "
             f"scores (scaled to [0, 1]).</p>"]
    md = [f"Results file `{results}`; means over series. PA-F1 is point-adjusted (optimistic), shown only "
          "beside VUS-PR."]
    for suite in [s for s in SUITES if s in set(frame.suite)]:
        cells = frame[frame.suite == suite]
        board = suite_leaderboard(cells)
        per_series = cells[cells.status == "ok"].pivot_table(index="dataset", columns="model", values="vus_pr")
        check = target_check(board, per_series, suite)
        parts.append(f"<h2>{suite}</h2><p>{html.escape(check)}</p>{html_table(board)}"
                     f"<h3>VUS-PR per series</h3>{html_table(per_series)}")
        md += [f"\n### {suite}\n", markdown_table(board), f"\n{check}\n", f"\nVUS-PR per series ({suite}):\n",
               markdown_table(per_series)]
        explained = explanations_per_series(cells, suite, data_dir)
        if explained is not None:
            note = ("Each model's explain() ranks the channels of every labelled anomalous step; HitRate@P% is "
                    "the share of the labelled channels among its top floor(P% x their number), NDCG@P% the "
                    "ranking's quality at that cut-off (means over steps, seeds, then series). IPS@P% "
                    "(InterFusion's) ranks once per labelled segment, by each channel's largest contribution "
                    "there, and weighs each segment by its steps. 'Detected steps' keeps only the labelled "
                    "steps the model flags at its best point-adjusted F1 threshold, as InterFusion's authors "
                    "do (OmniAnomaly's count HitRate on the anomalies their threshold detects); the z-score "
                    "ranking is scored on the same steps beside it.")
            board = interpretation_board(explained)
            checks = (explanation_check(explained), detected_steps_check(explained, "hit"),
                      detected_steps_check(explained, "ips"))
            check = "; ".join(filter(None, checks))
            parts.append(f"<h3>Which channels explain each anomaly</h3><p>{note}</p>{html_table(board)}"
                         f"<p>{html.escape(check)}</p>")
            md += [f"\nWhich channels explain each anomaly ({suite}). {note}\n", markdown_table(board),
                   f"\n{check}\n"]
            pairs = detected_steps_table(explained)
            if pairs is not None:
                pairs_note = ("Each model against the z-score ranking on the steps that model detects (95% "
                              "bootstrap interval over series; series where the model leads).")
                parts.append(f"<p>{pairs_note}</p>{html_table(pairs)}")
                md += [f"\n{pairs_note}\n", markdown_table(pairs)]
        if plots:
            for name, group in cells[cells.status == "ok"].groupby("dataset"):
                scores = {row.model: row.plot_scores for row in group.itertuples() if row.seed == group.seed.min()}
                image = series_plot(load_series(suite, name, data_dir), scores, f"{suite}: {name}")
                parts.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{image}">')
    document = html_document("genad time-series benchmark", parts, image_css="max-width:100%;margin:0.5em 0")
    return document, "\n".join(md) + "\n"


# --- command line --------------------------------------------------------------------------------
def cmd_bench_ts(args) -> int:
    from genad.bench.cli import check_positive, require_items
    from genad.bench.store import check_results_target

    require_items(series=args.series, seeds=args.seeds)  # `--series ,` must not mean every series
    check_positive(jobs=args.jobs, threads=args.threads)
    check_results_target(args.results)
    cells = make_cells(args.suite, args.models, args.seeds, args.series, args.threads, args.data_dir)
    print(f"genad bench-ts {args.suite}: {len(cells)} cells -> {args.results}")
    start = time.perf_counter()
    counts = run_suite(cells, args.results, executor=args.executor, jobs=args.jobs, scheduler=args.scheduler,
                       retry_failed=not args.keep_failed, progress=not args.quiet)
    print(f"done in {time.perf_counter() - start:.1f} s: {counts['ok']} ok, {counts['failed']} failed, "
          f"{counts['skipped']} already in {args.results}")
    return 1 if counts["failed"] else 0


def cmd_report_ts(args) -> int:
    from genad.bench.report import check_report_outputs

    # checked before the (slow) report is built: neither output may replace the results or another SQLite file
    out, markdown = check_report_outputs(args.results, args.out, args.markdown)
    document, md = build_timeseries_report(args.results, args.data_dir, plots=not args.no_plots)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(md, encoding="utf-8")
    print(md)
    return 0


def add_commands(subparsers) -> None:
    """Add ``bench-ts`` and ``report-ts`` to the ``genad`` command line."""
    from genad.bench.cli import add_executor_arguments, comma_list, parse_seeds

    p = subparsers.add_parser(
        "bench-ts", help="run a time-series suite (smd, asd, nab) into a results file (resumable)",
        description="Fit each model on each series' training part and score its test part (see BENCHMARKS.md, "
                    "Time series). A re-run with the same --results skips finished cells (and retries failed "
                    "ones); `genad report-ts` makes the report.")
    p.add_argument("--suite", required=True, choices=SUITES)
    p.add_argument("--models", nargs="+", default=list(GENAD_MODELS + BASELINES),
                   help=f"time-series models and windowed baselines (default: {' '.join(GENAD_MODELS)} and "
                        f"{' '.join(BASELINES)})")
    p.add_argument("--series", type=comma_list, default=None, help="only these series (comma-separated)")
    p.add_argument("--seeds", type=parse_seeds, default=[0], help="comma-separated (default 0)")
    p.add_argument("--results", default="results/timeseries.sqlite",
                   help="SQLite results file, created or resumed (default results/timeseries.sqlite)")
    p.add_argument("--data-dir", default=None, help="folder holding smd/, asd/, nab/ (default: $GENAD_DATA, "
                                                    "else ../shared/data)")
    add_executor_arguments(p)
    p.add_argument("--threads", type=int, default=1, help="torch/BLAS threads per cell")
    p.set_defaults(func=cmd_bench_ts)

    p = subparsers.add_parser("report-ts", help="HTML (and Markdown) report of the time-series suites")
    p.add_argument("results", help="a results file written by `genad bench-ts`")
    p.add_argument("--out", default="report_timeseries.html", help="the HTML report (default report_timeseries.html)")
    p.add_argument("--markdown", default=None, help="also write the tables as Markdown to this file")
    p.add_argument("--data-dir", default=None, help="where the series are read for the plots (as bench-ts)")
    p.add_argument("--no-plots", action="store_true", help="tables only: no plot per series")
    p.set_defaults(func=cmd_report_ts)
