"""The benchmark report: a single HTML file (tables and embedded matplotlib PNGs) and a Markdown version.

For each protocol (and anomaly type), per model: the mean over datasets of the per-dataset mean AUROC and
AUPRC (means over seeds), the average rank (AUROC, rank 1 best, ties averaged; over the datasets where every
model has a score), wins/ties/losses against each PyOD baseline (per dataset, mean AUROC, over the datasets
where both have a score: a win when the model is higher by ``tie`` or more, a tie when the two differ by less
than ``tie``), total fit+score seconds, the median over datasets of the peak memory (its largest over seeds),
and failed cells. Then a per-dataset AUROC table, a box plot of per-dataset AUROC per model and a
runtime-vs-AUROC scatter.

The means and the total seconds are given only for a model that finished every cell of its table (every
dataset x seed on which any model has a score); one with failed or missing cells gets blanks there and is
listed last: a mean over the datasets it did finish would leave out exactly the ones it failed on, often the
hard ones, and would not compare with the others' means. Its per-dataset AUROCs, ranks and W/T/L still show.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genad.bench.store import open_existing
from genad.data.io import check_output_file


def load_frame(results: str | Path) -> pd.DataFrame:
    """All cells of a results file as a DataFrame (a clear error when it holds none)."""
    frame = pd.DataFrame(open_existing(results))
    if frame.empty:
        raise ValueError(f"{results} holds no results yet")
    frame["seconds"] = frame["fit_seconds"] + frame["score_seconds"]
    return frame


def per_dataset(ok: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds per (dataset, model): auroc, auprc, seconds (summed), peak memory (max)."""
    return ok.groupby(["dataset", "model"]).agg(
        auroc=("auroc", "mean"), auprc=("auprc", "mean"), seconds=("seconds", "sum"),
        peak_memory_mb=("peak_memory_mb", "max"), seeds=("seed", "nunique")).reset_index()


def leaderboard(cells: pd.DataFrame, tie: float = 0.005) -> pd.DataFrame:
    """The leaderboard of one protocol's cells, best mean AUROC first."""
    ok = cells[cells.status == "ok"]
    table = per_dataset(ok)
    auroc = table.pivot(index="dataset", columns="model", values="auroc")
    complete = auroc.dropna()
    ranks = complete.rank(axis=1, ascending=False).mean() if len(complete) else pd.Series(dtype=float)
    models = sorted(cells.model.unique())
    board = pd.DataFrame(index=pd.Index(models, name="model"))
    grouped = table.groupby("model")
    finished = finished_every_cell(cells)
    board["datasets"] = grouped.dataset.nunique()
    board["mean AUROC"] = grouped.auroc.mean().where(finished)
    board["mean AUPRC"] = grouped.auprc.mean().where(finished)
    board["avg rank"] = ranks
    board["total s"] = grouped.seconds.sum().where(finished)
    board["median peak MiB"] = grouped.peak_memory_mb.median()
    board["failed cells"] = cells[cells.status == "failed"].groupby("model").size()
    board["failed cells"] = board["failed cells"].fillna(0).astype(int)
    for baseline in [m for m in models if m.startswith("pyod:")]:
        board[f"W/T/L vs {baseline[5:]}"] = [_wtl(auroc, m, baseline, tie) for m in models]
    return board.sort_values("mean AUROC", ascending=False)


def finished_every_cell(cells: pd.DataFrame) -> pd.Series:
    """Per model of ``cells``: True when it has an ``ok`` cell for every (dataset, seed) on which any model has one."""
    ok = cells[cells.status == "ok"].drop_duplicates(["model", "dataset", "seed"])
    wanted = len(ok[["dataset", "seed"]].drop_duplicates())
    return ok.groupby("model").size().reindex(cells.model.unique(), fill_value=0) == wanted


def _wtl(auroc: pd.DataFrame, model: str, baseline: str, tie: float) -> str:
    if model == baseline or model not in auroc or baseline not in auroc:
        return "-"
    diff = (auroc[model] - auroc[baseline]).dropna()
    return f"{int((diff >= tie).sum())}/{int((diff.abs() < tie).sum())}/{int((diff <= -tie).sum())}"


def _groups(frame: pd.DataFrame):
    from genad.synthesis import ANOMALY_TYPES

    for (protocol, anomalies), cells in frame.groupby(["protocol", "anomalies"], sort=True):
        # the data's own anomalies are "real" in the tabular suites and "natural" in the streams suite
        title = f"{protocol}, synthetic {anomalies} anomalies" if anomalies in ANOMALY_TYPES else protocol
        yield title, cells


# --- figures ---------------------------------------------------------------------------------------
PLOT_POINTS = 800  # values kept per scored series or stream for the report's plots


def downsample_max(values: np.ndarray, points: int = PLOT_POINTS) -> list[float]:
    """Max-pooled to at most ``points`` values (keeps peaks visible in plots)."""
    return _pooled(np.maximum.reduceat, values, points)


def downsample_mean(values: np.ndarray, points: int = PLOT_POINTS) -> list[float]:
    """Mean-pooled to at most ``points`` values (keeps levels, e.g. the share of anomalies in a stretch)."""
    def mean_reduceat(array: np.ndarray, starts: np.ndarray) -> np.ndarray:
        return np.add.reduceat(array, starts) / np.diff(np.r_[starts, array.size])
    return _pooled(mean_reduceat, values, points)


def _pooled(reduceat, values: np.ndarray, points: int) -> list[float]:
    values = np.asarray(values, dtype=np.float64)
    if values.size <= points:
        return values.round(6).tolist()
    starts = np.linspace(0, values.size, points + 1).astype(int)[:-1]
    return reduceat(values, starts).round(6).tolist()


def png_data_uri(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def box_plot(table: pd.DataFrame, title: str) -> str:
    """Per-dataset AUROC per model, as a base64 PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = table.groupby("model").auroc.median().sort_values(ascending=False).index
    fig, ax = plt.subplots(figsize=(max(5, 0.8 * len(order) + 2), 4))
    ax.boxplot([table.loc[table.model == m, "auroc"] for m in order], showmeans=True)
    ax.set_xticks(range(1, len(order) + 1), list(order), rotation=30, ha="right")
    ax.set_ylabel("AUROC per dataset (mean over seeds)")
    ax.set_title(title)
    return png_data_uri(fig)


def runtime_scatter(board: pd.DataFrame, title: str) -> str:
    """Total fit+score seconds (log scale) against mean AUROC, one point per model, as a base64 PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for model, row in board.dropna(subset=["mean AUROC"]).iterrows():
        seconds = max(row["total s"], 1e-3)
        ax.scatter(seconds, row["mean AUROC"], color="tab:orange" if model.startswith("pyod:") else "tab:blue")
        ax.annotate(model, (seconds, row["mean AUROC"]), fontsize=8, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("total fit + score seconds (all datasets and seeds)")
    ax.set_ylabel("mean AUROC")
    ax.set_title(f"{title} (blue: genad, orange: PyOD)")
    return png_data_uri(fig)


# --- output ----------------------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    header = [frame.index.name or ""] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.astype(object).iterrows():  # object rows keep integer columns integers
        lines.append("| " + " | ".join([str(index)] + [_fmt(v) for v in row]) + " |")
    return "\n".join(lines)


def html_table(frame: pd.DataFrame) -> str:
    return frame.to_html(float_format=lambda v: _fmt(v), na_rep="", border=0, classes="t")


_BLANKS = ("a model without a score on every dataset x seed that another model has one for gets no mean and no "
           "total seconds (blank, listed last): a mean over the datasets it finished would skip the ones it failed on.")


def build_report(frame: pd.DataFrame, source: str, tie: float = 0.005) -> tuple[str, str]:
    """The HTML document and the Markdown text of a results frame."""
    parts = [f"<h1>genad benchmark</h1><p>Results: <code>{html.escape(source)}</code>; "
             f"{int((frame.status == 'ok').sum())} finished cells, {int((frame.status == 'failed').sum())} "
             f"failed. AUROC/AUPRC: mean over seeds per dataset, then over datasets; {_BLANKS} Average rank "
             f"over the datasets where every model has a score. W/T/L: datasets where the model's AUROC is higher "
             f"by {tie} or more / within {tie} / lower by {tie} or more than the baseline's. Peak memory: extra "
             "RSS while fitting and scoring (median over datasets of the largest over seeds).</p>"]
    md = [f"Results file `{source}`; AUROC/AUPRC are means over seeds per dataset, then over datasets; {_BLANKS} "
          f"W/T/L counts datasets where the model's AUROC beats (by {tie} or more) / ties (within {tie}) / loses to "
          "the baseline."]
    for title, cells in _groups(frame):
        board = leaderboard(cells, tie)
        table = per_dataset(cells[cells.status == "ok"])
        datasets = table.pivot(index="dataset", columns="model", values="auroc")
        n_ranked = len(datasets.dropna())
        ranked = f"Average rank over the {n_ranked} of {len(datasets)} datasets where every model has a score."
        parts.append(f"<h2>{html.escape(title)}</h2><h3>Leaderboard</h3><p>{ranked}</p>{html_table(board)}")
        parts.append(f'<img alt="box plot" src="data:image/png;base64,{box_plot(table, title)}">')
        parts.append(f'<img alt="runtime vs AUROC" src="data:image/png;base64,{runtime_scatter(board, title)}">')
        parts.append(f"<h3>AUROC per dataset</h3>{html_table(datasets)}")
        md += [f"\n### {title}\n", ranked + "\n", markdown_table(board), f"\nAUROC per dataset ({title}):\n",
               markdown_table(datasets)]
        if (cells.suite == "streams").all():
            from genad.bench.streams import report_sections

            stream_html, stream_md = report_sections(cells)
            parts += stream_html
            md += stream_md
    failed = frame[frame.status == "failed"]
    if len(failed):
        errors = failed[["dataset", "model", "seed", "protocol", "anomalies"]].assign(
            error=failed.error.str.split("\n").str[0])
        parts.append(f"<h2>Failed cells</h2>{errors.to_html(index=False, border=0, classes='t')}")
    return html_document("genad benchmark", parts, image_css="max-width:48%;margin:1em 1% 0 0"), "\n".join(md) + "\n"


def html_document(title: str, parts: list[str], image_css: str) -> str:
    """One self-contained HTML page: the report's style, then ``parts`` in order."""
    style = ("<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;"
             "font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}"
             f"img{{{image_css}}}</style>")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>{style}</head>"
            f"<body>{''.join(parts)}</body></html>")


def write_report(results: str | Path, out: str | Path, markdown: str | Path | None = None,
                 tie: float = 0.005) -> tuple[Path, Path | None]:
    """Write the HTML report (and the Markdown tables when ``markdown`` is given).

    Neither output may be the results file, an existing SQLite file or the other output: those are
    refused before anything is read or written, so no results file is ever replaced by a report.
    """
    from genad.bench.timeseries import SUITES as SERIES_SUITES  # here: that module imports this one
    from genad.validation import check_float

    check_float("tie", tie, low=0)
    out, markdown = check_report_outputs(results, out, markdown)
    frame = load_frame(results)
    if frame.suite.isin(SERIES_SUITES).all():  # their metrics (VUS-PR, range-F1) are in report-ts only
        raise ValueError(f"{results} holds time-series results: make their report with `genad report-ts {results}`")
    document, md = build_report(frame, str(results), tie)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    if markdown is not None:
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(md, encoding="utf-8")
    return out, markdown


def check_report_outputs(results: str | Path, out: str | Path,
                         markdown: str | Path | None = None) -> tuple[Path, Path | None]:
    """``out`` and ``markdown`` as paths, checked to overwrite neither ``results``, an SQLite file nor each other."""
    out = check_output_file(out, "the HTML report", inputs=[results], make_parents=True)
    if markdown is None:
        return out, None
    markdown = check_output_file(markdown, "the Markdown report", inputs=[results], make_parents=True)
    if markdown.resolve() == out.resolve():
        raise ValueError(f"the HTML and the Markdown report would both be written to {out}; give two names")
    return out, markdown
