"""The report: one HTML file with tables and embedded PNGs, and Markdown tables for BENCHMARKS.md."""
from __future__ import annotations

import numpy as np
import pytest

from genad.bench import ResultStore
from genad.bench.report import leaderboard, load_frame, write_report


def _fill(path):
    """Hand-made cells: 3 datasets, a genad model and two baselines, both protocols, one failure."""
    aurocs = {"ae": [0.9, 0.8, 0.7], "pyod:IForest": [0.85, 0.8, 0.75], "pyod:KNN": [0.6, 0.9, 0.7]}
    with ResultStore(path) as store:
        for protocol in ("unsupervised", "one-class"):
            for model, values in aurocs.items():
                for dataset, auroc in zip(("a", "b", "c"), values):
                    for seed in (0, 1):
                        store.write(dict(suite="tabular", dataset=dataset, model=model, seed=seed,
                                         protocol=protocol, anomalies="real", status="ok", auroc=auroc,
                                         auprc=auroc / 2, fit_seconds=0.5, score_seconds=0.1, peak_memory_mb=3.0))
        store.write(dict(suite="tabular", dataset="d", model="ae", seed=0, protocol="one-class",
                         anomalies="real", status="failed", error="ValueError: boom\ntraceback"))


def test_leaderboard_means_ranks_and_wins_ties_losses(tmp_path):
    _fill(tmp_path / "r.sqlite")
    frame = load_frame(tmp_path / "r.sqlite")
    board = leaderboard(frame[frame.protocol == "one-class"], tie=0.005)
    assert board.loc["ae", "mean AUROC"] == pytest.approx(0.8)
    assert board.loc["ae", "W/T/L vs IForest"] == "1/1/1"
    assert board.loc["ae", "W/T/L vs KNN"] == "1/1/1"
    assert board.loc["pyod:IForest", "W/T/L vs IForest"] == "-"
    assert board.loc["ae", "failed cells"] == 1 and board.loc["pyod:KNN", "failed cells"] == 0
    # ranks per dataset: a: ae 1, IF 2, KNN 3; b: KNN 1, ae/IF 2.5; c: IF 1, ae/KNN 2.5
    assert board.loc["ae", "avg rank"] == pytest.approx(2.0)
    assert board.loc["pyod:IForest", "avg rank"] == pytest.approx(11 / 6)
    assert board.loc["pyod:IForest", "total s"] == pytest.approx(3 * 2 * 0.6)


def _fill_with_skipped_hard_dataset(path):
    """``vae`` fails on the hard dataset c (every seed), ``pyod:KNN`` on one seed of it; the others finish."""
    aurocs = {"ae": (0.9, 0.9, 0.6), "vae": (0.95, 0.95, None), "pyod:IForest": (0.85, 0.85, 0.6),
              "pyod:KNN": (0.99, 0.99, 0.5)}
    with ResultStore(path) as store:
        for model, values in aurocs.items():
            for dataset, auroc in zip(("a", "b", "c"), values):
                for seed in (0, 1):
                    key = dict(suite="tabular", dataset=dataset, model=model, seed=seed, protocol="one-class",
                               anomalies="real")
                    if auroc is None or (model == "pyod:KNN" and dataset == "c" and seed == 1):
                        store.write(key | dict(status="failed", error="FloatingPointError: nan"))
                    else:
                        store.write(key | dict(status="ok", auroc=auroc, auprc=auroc / 2, fit_seconds=1.0,
                                               score_seconds=0.0, peak_memory_mb=1.0))


def test_a_model_that_skipped_a_hard_dataset_gets_no_mean_and_does_not_lead(tmp_path):
    _fill_with_skipped_hard_dataset(tmp_path / "r.sqlite")
    board = leaderboard(load_frame(tmp_path / "r.sqlite"), tie=0.005)
    assert list(board.index[:2]) == ["ae", "pyod:IForest"]
    assert board.loc["ae", "mean AUROC"] == pytest.approx(0.8) and board.loc["ae", "total s"] == pytest.approx(6)
    for model in ("vae", "pyod:KNN"):  # over the datasets they finished: 0.95 and 0.823, ahead of ae's 0.8
        assert np.isnan(board.loc[model, "mean AUROC"]) and np.isnan(board.loc[model, "mean AUPRC"])
        assert np.isnan(board.loc[model, "total s"])
    assert set(board.index[2:]) == {"vae", "pyod:KNN"}
    assert board.loc["vae", "datasets"] == 2 and board.loc["vae", "failed cells"] == 2
    assert board.loc["vae", "W/T/L vs IForest"] == "2/0/0"  # paired over the datasets both have
    assert board.loc["vae", "avg rank"] == pytest.approx(2.0)  # ranks over a and b, where every model has a score


def test_targets_leave_out_a_model_that_skipped_a_hard_dataset(tmp_path):
    from genad.bench.targets import target_lines

    _fill_with_skipped_hard_dataset(tmp_path / "r.sqlite")
    lines = target_lines(tmp_path / "r.sqlite")
    assert lines[1] == "[one-class] left out, with failed or missing cells: pyod:KNN, vae"
    assert "best genad ae 0.8000 vs best PyOD pyod:IForest 0.7667: +0.0333" in lines[2]


def test_html_with_embedded_images_and_markdown(tmp_path):
    _fill(tmp_path / "r.sqlite")
    html_path, md_path = write_report(tmp_path / "r.sqlite", tmp_path / "out" / "report.html", tmp_path / "r.md")
    page = html_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count('src="data:image/png;base64,') == 4
    assert "Leaderboard" in page and "W/T/L vs IForest" in page and "Failed cells" in page and "boom" in page
    markdown = md_path.read_text()
    assert "### one-class" in markdown and "### unsupervised" in markdown
    assert "| model | datasets | mean AUROC |" in markdown and "| ae | 3 | 0.800 |" in markdown


def test_stream_cells_without_baselines_keep_integer_counts_and_are_not_called_synthetic(tmp_path):
    with ResultStore(tmp_path / "s.sqlite") as store:
        for dataset, auroc in (("a", 0.9), ("b", 0.7)):
            store.write(dict(suite="streams", dataset=dataset, model="memstream", seed=0, protocol="prequential",
                             anomalies="natural", status="ok", auroc=auroc, auprc=0.5, fit_seconds=1.0,
                             score_seconds=2.0, peak_memory_mb=3.0))
    _, md_path = write_report(tmp_path / "s.sqlite", tmp_path / "s.html", tmp_path / "s.md")
    markdown = md_path.read_text()
    assert "### prequential\n" in markdown and "synthetic" not in markdown
    assert "| memstream | 2 | 0.800 | 0.500 | 1.000 | 6.000 | 3.000 | 0 |" in markdown


def test_stream_report_shows_throughput_and_auroc_per_window(tmp_path):
    with ResultStore(tmp_path / "s.sqlite") as store:
        for seed, windows in ((0, [None, 0.9, 0.5]), (1, [None, 0.7, 0.3])):
            store.write(dict(suite="streams", dataset="a", model="memstream", seed=seed, protocol="prequential",
                             anomalies="natural", status="ok", auroc=0.8, auprc=0.5, fit_seconds=1.0,
                             score_seconds=2.0, peak_memory_mb=3.0,
                             n_test=6, extra={"records_per_s": 1000.0 * (seed + 1), "window_aurocs": windows,
                                              "window_auroc_mean": 0.7 - 0.2 * seed,
                                              "window_auroc_min": 0.5 - 0.2 * seed,
                                              "plot_score_ranks": [0.2, 0.3, 0.9, 0.8, 0.4, 0.1],
                                              "plot_anomaly_share": [0, 0, 1, 0.5, 0, 0]}))
    html_path, md_path = write_report(tmp_path / "s.sqlite", tmp_path / "s.html", tmp_path / "s.md")
    markdown = md_path.read_text()
    assert "Records per second of the streaming pass (warm-up excluded):" in markdown
    assert "| a | 1500 |" in markdown  # mean over the two seeds
    assert "Worst window AUROC:" in markdown and "| a | 0.400 |" in markdown
    page = html_path.read_text()
    assert 'alt="AUROC per window"' in page and 'alt="a scores"' in page
    assert page.count('src="data:image/png;base64,') == 4  # box plot, runtime scatter, windows, one stream's scores


def test_report_of_a_missing_or_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "none.sqlite", tmp_path / "r.html")
    ResultStore(tmp_path / "empty.sqlite").close()
    with pytest.raises(ValueError, match="no results"):
        write_report(tmp_path / "empty.sqlite", tmp_path / "r.html")


def test_target_lines_compare_genad_with_the_best_baseline(tmp_path):
    from genad.bench.targets import target_lines

    _fill(tmp_path / "r.sqlite")
    lines = target_lines(tmp_path / "r.sqlite")
    assert lines[0].startswith("cells: 37 (1 failed); datasets 4; seeds [0, 1]")
    assert "[one-class] best genad ae 0.8000 vs best PyOD pyod:IForest 0.8000: +0.0000" in lines[1]
    assert target_lines(tmp_path / "r.sqlite", seeds=[1])[0].endswith("seeds [1]")
    with pytest.raises(ValueError, match="no tabular cells of seeds"):
        target_lines(tmp_path / "r.sqlite", seeds=[7])


def test_bootstrap_interval_of_paired_differences():
    from genad.bench.stats import bootstrap_interval

    assert bootstrap_interval([0.02] * 10) == pytest.approx((0.02, 0.02))
    low, high = bootstrap_interval([-0.1, 0.1] * 20)
    assert low < 0 < high and low == pytest.approx(-high, abs=0.01)
    assert bootstrap_interval([0.0, 0.01, 0.03], seed=1) == bootstrap_interval([0.0, 0.01, 0.03], seed=1)
    with pytest.raises(ValueError, match="no paired differences"):
        bootstrap_interval([])


def test_pooling_for_plots_keeps_peaks_or_levels():
    from genad.bench.report import downsample_max, downsample_mean

    values = np.r_[np.zeros(6), 9.0, np.zeros(3)]
    assert downsample_max(values, points=5) == [0.0, 0.0, 0.0, 9.0, 0.0]
    assert downsample_mean(values, points=5) == [0.0, 0.0, 0.0, 4.5, 0.0]
    assert downsample_mean(values[:3], points=5) == [0.0, 0.0, 0.0]  # short input: unchanged
