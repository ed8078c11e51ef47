"""Loaders and the time-series bench suites on a tiny fake data folder (no real data needed)."""
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from genad.bench.timeseries import (build_timeseries_report, explanation_metrics, flagged_at_best_point_adjusted_f1,
                                    make_cells, results_frame, run_suite)
from genad.data import Series, load_nab, load_smd, nab_series, smd_machines


def wave(n, seed, dims):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    return (0.5 + 0.3 * np.sin(t / (5 + np.arange(dims))) + 0.02 * rng.normal(size=(n, dims))).astype(np.float32)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    smd = root / "smd" / "processed_interfusion"
    smd.mkdir(parents=True)
    for k, name in enumerate(["machine-9-1", "machine-9-2"]):
        test, labels = wave(300, 10 + k, 3), np.zeros(300, dtype=np.float32)
        test[150:160, 1] += 1.0
        labels[150:160] = 1.0
        for part, array in (("train", wave(300, k, 3)), ("test", test), ("test_label", labels)):
            with open(smd / f"{name}_{part}.pkl", "wb") as handle:
                pickle.dump(array, handle)
    interpretation = root / "smd" / "interpretation_label"
    interpretation.mkdir()
    # OmniAnomaly's SMD files end a range one step past the labelled anomaly; InterFusion's at its last step
    (interpretation / "machine-9-1.txt").write_text("150-160:2\n")
    (interpretation / "machine-9-2.txt").write_text("150-159:2,3\n")
    nab = root / "nab"
    (nab / "data" / "fake").mkdir(parents=True)
    (nab / "labels").mkdir()
    stamps = pd.date_range("2020-01-01", periods=400, freq="5min")
    values = wave(400, 3, 1)[:, 0]
    values[300:310] += 2.0
    pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(nab / "data" / "fake" / "a.csv", index=False)
    pd.DataFrame({"timestamp": stamps, "value": values}).to_csv(nab / "data" / "fake" / "none.csv", index=False)
    windows = {"fake/a.csv": [[str(stamps[295]), str(stamps[315])]], "fake/none.csv": []}
    (nab / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return str(root)


def test_loaders(data_dir):
    assert smd_machines(data_dir) == ["machine-9-1", "machine-9-2"]
    series = load_smd("machine-9-1", data_dir)
    assert series.train.shape == (300, 3) and series.labels.sum() == 10
    expected = np.zeros((300, 3), dtype=bool)
    expected[150:160, 1] = True  # the labelled steps only, though the file's range ends at 160
    np.testing.assert_array_equal(series.channels, expected)
    assert load_smd("machine-9-2", data_dir).channels[150:160, 1:].all()
    assert nab_series(data_dir) == ["fake/a.csv"]  # series without windows are skipped
    nab = load_nab("fake/a.csv", data_dir)
    assert nab.train.shape == (60, 1) and nab.test.shape == (340, 1)  # first 15% trains
    assert nab.labels.sum() == 21 and nab.labels[295 - 60:316 - 60].all()
    with pytest.raises(ValueError, match="labels"):
        Series("x", np.zeros((5, 1)), np.zeros((5, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="unknown NAB"):
        load_nab("fake/missing.csv", data_dir)
    with pytest.raises(FileNotFoundError, match="looked in"):
        smd_machines(str(data_dir) + "/nowhere")


def test_suite_runs_resumes_and_reports(data_dir, tmp_path):
    models = ["dbls_ae?window=8&n_members=2&n_enhancement=40", "win:pyod:IForest?n_estimators=10",
              "win:ae?epochs=1"]
    cells = make_cells("smd", models, data_dir=data_dir)
    results = str(tmp_path / "ts.sqlite")
    counts = run_suite(cells, results, progress=False)
    assert counts == {"total": 6, "skipped": 0, "ok": 6, "failed": 0}
    assert run_suite(cells, results, progress=False)["skipped"] == 6  # resumable: finished cells are skipped
    frame = results_frame(results)
    assert frame[["vus_pr", "vus_roc", "auprc", "range_f1", "pa_f1_optimistic"]].notna().all().all()
    assert frame.vus_pr.between(0, 1).all()
    document, markdown = build_timeseries_report(results, data_dir)
    assert document.count("data:image/png;base64,") == 2  # one plot per series
    assert "VUS-PR" in markdown and "best baseline" in markdown and "optimistic" in markdown
    assert "95% interval over 2 series" in markdown
    # models that can explain are scored on the labelled channels; the planted shift is in channel 2
    explained = frame.set_index(["model", "dataset"])["hit@100"]
    assert explained.loc["win:pyod:IForest?n_estimators=10"].isna().all()
    assert explained.loc[("win:ae?epochs=1", "machine-9-1")] == 1.0
    assert explained.loc[models[0]].notna().all()
    assert "HitRate@150%" in markdown and "(channels in random order)" in markdown and "z-score" in markdown
    assert "best explanations" in markdown and "95% interval over 2 series" in markdown


def test_the_bench_executors_run_the_suite_alike(data_dir, tmp_path):
    """The suite runs on the bench's own executors: in-process and on a real Dask LocalCluster, alike."""
    distributed = pytest.importorskip("dask.distributed")
    from genad.bench import ResultStore

    cells = make_cells("smd", ["win:pyod:IForest?n_estimators=10", "win:ae?epochs=1"], data_dir=data_dir)
    varying = {"fit_seconds", "score_seconds", "peak_memory_mb", "host", "finished_at"}

    def comparable(results):
        return [{k: v for k, v in r.items() if k not in varying} for r in ResultStore(results).records()]

    local, on_dask = str(tmp_path / "local.sqlite"), str(tmp_path / "dask.sqlite")
    assert run_suite(cells, local, progress=False)["ok"] == 4  # in this process
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        counts = run_suite(cells, on_dask, executor="dask", scheduler=cluster.scheduler_address, progress=False)
    assert counts == {"total": 4, "skipped": 0, "ok": 4, "failed": 0}
    assert comparable(on_dask) == comparable(local)


def test_unknown_models_fail_before_the_run(data_dir):
    with pytest.raises(ValueError, match="not a time-series model"):
        make_cells("smd", ["ae"], data_dir=data_dir)
    with pytest.raises(ValueError, match="unknown model"):
        make_cells("smd", ["win:nope"], data_dir=data_dir)
    with pytest.raises(ValueError, match="suite"):
        make_cells("nosuch", ["dbls_ae"], data_dir=data_dir)


def test_command_line(data_dir, tmp_path, capsys):
    from genad.cli import main

    results = str(tmp_path / "cli.sqlite")
    assert main(["bench-ts", "--suite", "nab", "--models", "win:pyod:IForest?n_estimators=5",
                 "--data-dir", data_dir, "--results", results, "--quiet"]) == 0
    assert main(["report-ts", results, "--out", str(tmp_path / "r.html"), "--no-plots",
                 "--markdown", str(tmp_path / "r.md")]) == 0
    assert "fake/a.csv" in (tmp_path / "r.md").read_text()
    assert main(["bench-ts", "--suite", "smd", "--models", "nope", "--data-dir", data_dir,
                 "--results", results]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_the_target_verdict_is_given_on_smd_only():
    from genad.bench.timeseries import target_check

    board = pd.DataFrame({"VUS-PR": [0.7, 0.5]}, index=["dbls_ae", "win:ae"])
    per_series = pd.DataFrame({"dbls_ae": [0.6, 0.8], "win:ae": [0.5, 0.5]}, index=["a", "b"])
    assert target_check(board, per_series, "smd").endswith("(target +0.02): MET")
    assert target_check(board, per_series, "asd").endswith("(the issue sets its target on smd only)")


def test_a_windowed_genad_model_is_compared_with_the_issues_baselines_not_counted_as_one():
    from genad.bench.timeseries import target_check

    board = pd.DataFrame({"VUS-PR": [0.71, 0.68, 0.6, 0.9]},
                         index=["win:robust_ae", "win:ae", "dbls_ae", "win:pyod:PCA?n_components=2"])
    per_series = pd.DataFrame({name: [v, v] for name, v in zip(board.index, board["VUS-PR"])}, index=["a", "b"])
    check = target_check(board.iloc[:3], per_series, "smd")
    assert check.startswith("best genad model win:robust_ae 0.710 vs best baseline win:ae 0.680")
    assert check.endswith("(target +0.02): MET")
    assert "best baseline win:pyod:PCA?n_components=2 0.900" in target_check(board, per_series, "smd")


def test_a_model_that_failed_on_a_series_gets_no_mean_and_is_not_the_best_baseline():
    import pandas as pd

    from genad.bench.timeseries import METRIC_COLUMNS, suite_leaderboard, target_check

    rows = []
    for dataset, easy in (("a", True), ("b", False)):
        for model, vus in (("rae_ensemble", 0.5), ("win:pyod:PCA", 0.9), ("win:ae", 0.4)):
            failed = model == "win:pyod:PCA" and not easy  # fails on the hard series only
            row = {column: (np.nan if failed else vus) for column in METRIC_COLUMNS}
            rows.append({**row, "dataset": dataset, "model": model, "seed": 0, "status": "failed" if failed else "ok",
                         "fit_seconds": 1.0, "score_seconds": 1.0})
    cells = pd.DataFrame(rows)
    board = suite_leaderboard(cells)
    assert np.isnan(board.loc["win:pyod:PCA", "VUS-PR"]) and board.index[-1] == "win:pyod:PCA"
    per_series = cells[cells.status == "ok"].pivot_table(index="dataset", columns="model", values="vus_pr")
    assert "best baseline win:ae" in target_check(board, per_series)


def test_an_explanation_that_fails_is_recorded_beside_the_detection_results():
    class Unstable:
        def explain(self, X):
            raise FloatingPointError("usad produced non-finite explanations")

    class Silent:
        def explain(self, X):
            raise NotImplementedError("model 'windowed(IForest)' cannot explain")

    channels = np.zeros((4, 2), dtype=bool)
    channels[1, 0] = True
    assert explanation_metrics(Unstable(), np.zeros((4, 2)), channels) == {
        "explain_error": "FloatingPointError: usad produced non-finite explanations"}
    assert explanation_metrics(Silent(), np.zeros((4, 2)), channels) == {}


def test_the_detected_steps_are_those_at_or_past_the_best_point_adjusted_threshold_without_adjustment():
    # two labelled ranges; the first is found through its one high step, the second is missed. The best
    # point-adjusted F1 takes the threshold 0.9 (all of range one, no false alarm), and InterFusion's authors
    # then explain only the steps whose own score reaches it: step 2, not the rest of the range.
    # (F1 6/7; at 0.3 both ranges are found, but with three false alarms: F1 8/11)
    labels = np.array([0, 1, 1, 1, 0, 0, 1, 0, 0, 0])
    scores = np.array([0.1, 0.2, 0.9, 0.3, 0.2, 0.1, 0.3, 0.4, 0.5, 0.6])
    assert flagged_at_best_point_adjusted_f1(labels, scores).tolist() == [0, 0, 1, 0, 0, 0, 0, 0, 0, 0]


def test_ips_on_the_detected_steps_is_recorded_for_the_model_and_the_z_score_ranking_on_the_same_steps():
    class Explainer:
        def explain(self, X):
            return np.array([[0.2, 0.5], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])

    # segments: steps 0-1 (channel 0) and step 2 (channel 1); the model gets channel 0 right only at step 1
    channels = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=bool)
    test = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 2.0], [0.0, 0.0]])  # the absolute z-scores
    everything = explanation_metrics(Explainer(), test, channels)
    assert "ips_detected@100" not in everything and everything["ips@100"] == pytest.approx(1.0)
    detected = explanation_metrics(Explainer(), test, channels, detected=np.array([1, 0, 1, 0], dtype=bool))
    assert detected["ips_detected@100"] == pytest.approx(0.5)  # step 0 ranked wrong, step 2 right
    assert detected["ips_detected_by_deviation@100"] == pytest.approx(1.0)  # both right by the z-scores
    # step-wise, the model is right at step 2 only; the z-scores at steps 0 and 2
    assert detected["hit_detected@100"] == pytest.approx(0.5) and detected["ndcg_detected@100"] == pytest.approx(0.5)
    assert detected["hit_detected_by_deviation@100"] == pytest.approx(1.0)
    # a detector that flags no explained step leaves the variant out rather than failing the explanation
    nothing = explanation_metrics(Explainer(), test, channels, detected=np.array([0, 0, 0, 1], dtype=bool))
    assert "ips_detected@100" not in nothing and "ips@100" in nothing


def test_the_report_compares_the_best_detected_steps_ips_with_the_z_score_ranking_on_the_same_steps():
    from genad.bench.timeseries import detected_steps_check

    per_series = pd.DataFrame({"dataset": ["a", "b", "a", "b", "a"],
                               "model": ["tranad", "tranad", "usad", "usad", "(reference)"],
                               "ips_detected@100": [0.9, 0.7, 0.6, 0.6, np.nan],
                               "ips_detected_by_deviation@100": [0.8, 0.6, 0.7, 0.7, np.nan]})
    check = detected_steps_check(per_series)
    assert "best tranad 0.800 IPS@100% vs 0.700" in check and "difference +0.100" in check
    assert detected_steps_check(per_series.drop(columns=["ips_detected@100"])) == ""
    hit_rates = per_series.rename(columns=lambda c: c.replace("ips", "hit"))
    assert "best tranad 0.800 HitRate@100% vs 0.700" in detected_steps_check(hit_rates, "hit")
    assert detected_steps_check(per_series, "hit") == ""


def test_every_model_is_paired_with_the_z_score_ranking_on_its_own_detected_steps():
    from genad.bench.timeseries import detected_steps_table

    per_series = pd.DataFrame({"dataset": ["a", "b", "a", "b"], "model": ["tranad", "tranad", "usad", "usad"],
                               "hit_detected@100": [0.9, 0.7, 0.5, 0.6],
                               "hit_detected_by_deviation@100": [0.8, 0.75, 0.7, 0.7]})
    table = detected_steps_table(per_series)
    assert list(table.columns) == ["HitRate@100%: model minus z-score, its detected steps"]  # no IPS recorded
    assert table.loc["tranad"].iloc[0].startswith("+0.025 (-0.050 to +0.100; ahead on 1 of 2")
    assert table.loc["usad"].iloc[0].startswith("-0.150 (-0.200 to -0.100; ahead on 0 of 2")
    assert detected_steps_table(per_series.drop(columns=["hit_detected@100"])) is None


def test_the_target_is_not_evaluated_while_every_model_misses_a_cell():
    from genad.bench.timeseries import METRIC_COLUMNS, suite_leaderboard, target_check

    rows = [{**{column: 0.5 for column in METRIC_COLUMNS}, "dataset": dataset, "model": model, "seed": seed,
             "status": "ok", "fit_seconds": 1.0, "score_seconds": 1.0}
            for model, dataset, seed in [("rae_ensemble", "a", 0), ("rae_ensemble", "a", 1), ("win:ae", "a", 0),
                                         ("win:ae", "b", 0), ("rae_ensemble", "b", 0), ("win:ae", "b", 1)]]
    cells = pd.DataFrame(rows)  # a killed run: each model has one of the seed-1 cells the other lacks
    board = suite_leaderboard(cells)
    per_series = cells.pivot_table(index="dataset", columns="model", values="vus_pr")
    assert target_check(board, per_series).startswith("target not evaluated (no genad model or no baseline")
