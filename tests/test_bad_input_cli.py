"""Bad input at the command line's door: a one-line error and exit code 2, nothing created, nothing overwritten."""
from __future__ import annotations

import pickle
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

import genad
from bench_data import make_data_dir, planted_table
from genad.bench import ResultStore
from genad.cli import main

STREAM = ["--model", "memstream", "--set", "memory_size=16", "--set", "epochs=1", "--set", "random_state=0",
          "--every", "20"]
DBLS = ["--set", "window=8", "--set", "n_members=2", "--set", "n_enhancement=20", "--set", "n_groups=2",
        "--set", "group_size=4"]


def table(path, n=60, n_features=4, seed=0, label=False):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, n_features)), columns=[f"f{i}" for i in range(n_features)])
    if label:
        frame["label"] = (rng.random(n) < 0.1).astype(int)
    frame.to_csv(path, index=False)
    return path


def error_of(capsys) -> str:
    """The error output, checked to be a single ``genad: error:`` line (no traceback)."""
    err = capsys.readouterr().err.strip()
    assert err.startswith("genad: error:") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def results(tmp_path):
    """A small results file with one finished cell."""
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        store.write(dict(suite="tabular", dataset="a", model="ae", seed=0, protocol="one-class", anomalies="real",
                         status="ok", auroc=0.9, auprc=0.5, fit_seconds=0.1, score_seconds=0.1, peak_memory_mb=1.0))
    return path


@pytest.fixture
def fitted(tmp_path):
    """A tiny fitted ``ae`` model file and its training csv."""
    data = table(tmp_path / "train.csv")
    model = tmp_path / "m.genad"
    assert main(["fit", "--model", "ae", "--data", str(data), "--set", "epochs=1", "--set", "hidden_dims=(4, 2)",
                 "--out", str(model)]) == 0
    return model, data


# --- 1. reports never replace a results file ------------------------------------------------------
@pytest.mark.parametrize("command", ["report", "report-ts"])
@pytest.mark.parametrize("option", ["--out", "--markdown"])
def test_report_refuses_to_overwrite_its_results_file(results, command, option, capsys):
    before = results.read_bytes()
    argv = [command, str(results), option, str(results)]
    assert main(argv + (["--no-plots"] if command == "report-ts" else [])) == 2
    assert "input file" in error_of(capsys)
    assert results.read_bytes() == before


@pytest.mark.parametrize("command", ["report", "report-ts"])
def test_report_refuses_to_overwrite_another_sqlite_file(results, tmp_path, command, capsys):
    other = tmp_path / "other.sqlite"
    shutil.copy(results, other)
    before = other.read_bytes()
    assert main([command, str(results), "--out", str(tmp_path / "r.html"), "--markdown", str(other)]) == 2
    assert "existing SQLite file" in error_of(capsys)
    assert other.read_bytes() == before and not (tmp_path / "r.html").exists()


def test_report_checks_tie_folders_and_twin_outputs(results, tmp_path, capsys):
    assert main(["report", str(results), "--tie", "nan", "--out", str(tmp_path / "r.html")]) == 2
    assert "tie must be finite" in error_of(capsys)
    assert main(["report", str(results), "--out", str(tmp_path)]) == 2
    assert "is a folder" in error_of(capsys)
    same = str(tmp_path / "r.html")
    assert main(["report", str(results), "--out", same, "--markdown", same]) == 2
    assert "both be written" in error_of(capsys)
    assert main(["report", str(results), "--out", str(tmp_path / "new" / "r.html")]) == 0  # folders are made


# --- 2. fit passes verbose only to models that have it ----------------------------------------------
def test_fit_models_without_verbose(tmp_path, capsys):
    data = table(tmp_path / "s.csv", n_features=2)
    assert main(["fit", "--model", "dbls_ae", "--data", str(data), *DBLS, "--out", str(tmp_path / "m.pt")]) == 0
    assert genad.load(tmp_path / "m.pt").registry_name == "dbls_ae"


def test_fit_keeps_the_progress_bar_of_models_with_verbose(fitted):
    model, _ = fitted
    assert genad.load(model).get_params()["verbose"] is True


# --- 3. stream resume checks its checkpoint ----------------------------------------------------------
@pytest.fixture
def checkpoint(tmp_path):
    """A finished stream of 60 records x 4 features, with its checkpoint folder."""
    data, folder = table(tmp_path / "s4.csv"), tmp_path / "ck"
    assert main(["stream", "--data", str(data), "--checkpoint", str(folder), *STREAM]) == 0
    return folder, data


@pytest.mark.parametrize("n, message", [(30, "consumed 60 records but the data file has 30"), (90, "3 features")])
def test_checkpoint_of_another_stream_is_refused(checkpoint, tmp_path, capsys, n, message):
    """A shorter file than the checkpoint consumed, or one with other features: refused, nothing written."""
    folder, _ = checkpoint
    before = (folder / "scores.csv").read_bytes()
    other = table(tmp_path / "s3.csv", n=n, n_features=3)
    assert main(["stream", "--data", str(other), "--checkpoint", str(folder), *STREAM]) == 2
    assert message in error_of(capsys)
    assert (folder / "scores.csv").read_bytes() == before


def test_checkpoint_without_a_position_is_refused(checkpoint, capsys):
    folder, data = checkpoint
    payload = torch.load(folder / "checkpoint.pt", weights_only=False)
    payload["position"] = {}
    torch.save(payload, folder / "checkpoint.pt")
    before = (folder / "scores.csv").read_bytes()
    assert main(["stream", "--data", str(data), "--checkpoint", str(folder), *STREAM]) == 2
    assert "no valid stream position" in error_of(capsys)
    assert (folder / "scores.csv").read_bytes() == before  # not truncated as for a fresh run


def test_stream_paths_are_checked_before_anything_is_created(tmp_path, capsys):
    data = table(tmp_path / "s4.csv")
    before = data.read_bytes()
    (tmp_path / "afile").write_text("x")
    assert main(["stream", "--data", str(data), "--checkpoint", str(tmp_path / "afile"), *STREAM]) == 2
    assert "is a file" in error_of(capsys)
    assert main(["stream", "--data", str(tmp_path / "missing.csv"), "--checkpoint", str(tmp_path / "ck"),
                 *STREAM]) == 2
    assert "not found" in error_of(capsys)
    assert not (tmp_path / "ck").exists()
    assert main(["stream", "--data", str(data), "--out", str(data), *STREAM]) == 2
    assert "input file" in error_of(capsys)
    assert data.read_bytes() == before
    assert main(["stream", "--data", str(data), "--out", str(tmp_path / "nodir" / "x.csv"), *STREAM]) == 2
    assert "does not exist" in error_of(capsys)


# --- 4. output paths of fit, score and the bench commands -------------------------------------------
def test_score_output_paths(fitted, tmp_path, capsys):
    model, data = fitted
    for out, message in ((tmp_path / "nodir" / "x.csv", "does not exist"), (tmp_path, "is a folder"),
                         (data, "input file"), (model, "input file")):
        assert main(["score", "--model", str(model), "--data", str(data), "--out", str(out)]) == 2
        assert message in error_of(capsys)
    assert genad.load(model).registry_name == "ae"


def test_restore_explain_and_synthesize_output_paths(fitted, tmp_path, results, capsys):
    model, data = fitted
    before = (data.read_bytes(), results.read_bytes())
    for out, message in ((tmp_path / "nodir" / "x.csv", "does not exist"), (tmp_path, "is a folder"),
                         (data, "input file"), (results, "SQLite")):
        for command in ("restore", "explain"):
            assert main([command, "--model", str(model), "--data", str(data), "--out", str(out)]) == 2
            assert message in error_of(capsys)
        assert main(["synthesize", "--data", str(data), "--kind", "global", "--n", "2", "--out", str(out)]) == 2
        assert message in error_of(capsys)
    assert main(["restore", "--model", str(model), "--data", str(data), "--out", str(model)]) == 2
    assert "input file" in error_of(capsys)
    assert (data.read_bytes(), results.read_bytes()) == before and genad.load(model).registry_name == "ae"


def test_fit_output_is_checked_before_training(tmp_path, results, monkeypatch, capsys):
    data = table(tmp_path / "s.csv")
    monkeypatch.setattr(genad, "create", lambda *a, **k: pytest.fail("built the model before the check"))
    assert main(["fit", "--model", "ae", "--data", str(data), "--out", str(tmp_path / "nodir" / "m.pt")]) == 2
    assert "does not exist" in error_of(capsys)
    before = results.read_bytes()
    assert main(["fit", "--model", "ae", "--data", str(data), "--out", str(results)]) == 2
    assert "SQLite" in error_of(capsys) and results.read_bytes() == before


def test_non_finite_scores_are_a_one_line_error(fitted, tmp_path, capsys):
    model, _ = fitted
    huge = tmp_path / "huge.csv"
    pd.DataFrame(np.full((3, 4), 3e38), columns=[f"f{i}" for i in range(4)]).to_csv(huge, index=False)
    assert main(["score", "--model", str(model), "--data", str(huge), "--out", str(tmp_path / "s.csv")]) == 2
    assert "non-finite" in error_of(capsys)


@pytest.mark.parametrize("command", ["bench", "bench-streams", "bench-ts"])
def test_results_that_is_a_folder(tmp_path, command, capsys):
    argv = {"bench": ["--datasets", "adbench:all", "--models", "pyod:IForest"],
            "bench-streams": ["--datasets", "nsl_kdd", "--models", "hst"],
            "bench-ts": ["--suite", "smd", "--series", "machine-1-1"]}[command]
    assert main([command, *argv, "--results", str(tmp_path)]) == 2
    assert "is a folder" in error_of(capsys)


# --- 5. bench doors ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smd_dir(tmp_path_factory):
    """A fake SMD folder with one machine (the suite must not run anyway)."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "smd" / "processed_interfusion"
    folder.mkdir(parents=True)
    labels = np.zeros(40, dtype=np.float32)
    labels[20:25] = 1
    for part, array in (("train", np.ones((40, 2), np.float32)), ("test", np.ones((40, 2), np.float32)),
                        ("test_label", labels)):
        with open(folder / f"machine-9-1_{part}.pkl", "wb") as handle:
            pickle.dump(array, handle)
    return str(root)


@pytest.mark.parametrize("option", ["--series", "--seeds"])
def test_bench_ts_empty_lists_are_errors(smd_dir, tmp_path, option, capsys):
    results = tmp_path / "ts.sqlite"
    argv = ["bench-ts", "--suite", "smd", "--models", "win:pyod:IForest", "--data-dir", smd_dir,
            "--results", str(results), "--quiet", option, ","]
    assert main(argv) == 2
    assert f"{option} names nothing" in error_of(capsys)
    assert not results.exists()


def test_bench_ts_unknown_series_is_an_error_before_the_run(smd_dir, tmp_path, capsys):
    results = tmp_path / "ts.sqlite"
    assert main(["bench-ts", "--suite", "smd", "--models", "win:pyod:IForest", "--data-dir", smd_dir,
                 "--series", "machine-9-1,machine-0-0", "--results", str(results), "--quiet"]) == 2
    err = error_of(capsys)
    assert "unknown smd series ['machine-0-0']" in err and "machine-9-1" in err
    assert not results.exists()
    assert main(["bench-ts", "--suite", "smd", "--data-dir", smd_dir, "--jobs", "0", "--results", str(results)]) == 2
    assert "--jobs" in error_of(capsys)


@pytest.mark.parametrize("option", ["--seeds", "--datasets", "--models"])
def test_bench_streams_empty_lists_are_errors(tmp_path, option, capsys):
    results = tmp_path / "s.sqlite"
    assert main(["bench-streams", option, ",", "--results", str(results)]) == 2
    assert f"{option} names nothing" in error_of(capsys)
    assert not results.exists()


@pytest.mark.parametrize("option", ["--seeds", "--protocols", "--anomalies"])
def test_bench_empty_lists_are_errors(tmp_path, option, capsys):
    results = tmp_path / "r.sqlite"
    data = table(tmp_path / "lab.csv", label=True)
    assert main(["bench", "--datasets", str(data), "--models", "pyod:IForest", "--results", str(results),
                 "--quiet", option, ","]) == 2
    assert f"{option} names nothing" in error_of(capsys)
    assert not results.exists()


def test_bench_plain_files_need_their_label_column_before_the_run(tmp_path, capsys):
    results = tmp_path / "r.sqlite"
    unlabelled, labelled = table(tmp_path / "plain.csv"), table(tmp_path / "lab.csv", label=True)
    base = ["bench", "--models", "pyod:IForest", "--results", str(results), "--quiet", "--datasets"]
    assert main(base + [str(labelled), str(unlabelled)]) == 2
    assert "plain.csv has no label column 'y' or 'label'" in error_of(capsys)
    assert main(base + [str(labelled), "--label-column", "zz"]) == 2
    assert "no label column 'zz'" in error_of(capsys)
    X, y = planted_table(n=40)
    np.savez(tmp_path / "nolabel.npz", X=X)
    assert main(base + [str(tmp_path / "nolabel.npz")]) == 2
    assert "no label column 'y'" in error_of(capsys)
    assert not results.exists()


def test_bench_adbench_files_pass_the_label_check(tmp_path):
    from genad.bench.datasets import check_labels, resolve_datasets

    check_labels(resolve_datasets(["adbench:all"], data_dir=make_data_dir(tmp_path)))


def test_bench_threads_and_seeds(tmp_path, capsys):
    data = table(tmp_path / "lab.csv", label=True)
    base = ["bench", "--datasets", str(data), "--models", "pyod:IForest", "--results", str(tmp_path / "r.sqlite")]
    assert main(base + ["--threads", "-1"]) == 2
    assert "--threads must be in [1, inf]" in error_of(capsys)
    with pytest.raises(SystemExit):  # argparse's own error for a bad value of a typed option
        main(base + ["--seeds", "-1"])
    assert "non-negative" in capsys.readouterr().err


def test_list_unknown_modality(capsys):
    assert main(["list", "--modality", "nope"]) == 2
    err = error_of(capsys)
    assert "unknown modality 'nope'" in err and "tabular" in err and "stream" in err


def test_a_stream_shorter_than_the_warm_up_is_refused_without_a_checkpoint(tmp_path, capsys):
    data = table(tmp_path / "short.csv", n=10)
    assert main(["stream", "--data", str(data), "--out", str(tmp_path / "s.csv"), *STREAM]) == 2
    err = error_of(capsys)
    assert "holds 10 records, fewer than the 16" in err and "memory_size" in err
    assert not (tmp_path / "s.csv").exists()


def test_a_short_stream_with_a_checkpoint_goes_on_when_the_file_grows(tmp_path, capsys):
    """The checkpoint keeps the records buffered for the warm-up; the grown file's scores equal one run's."""
    full = pd.read_csv(table(tmp_path / "full.csv", n=60))
    full.head(10).to_csv(tmp_path / "part.csv", index=False)
    checkpoint = tmp_path / "ck"
    assert main(["stream", "--data", str(tmp_path / "part.csv"), "--checkpoint", str(checkpoint), *STREAM]) == 0
    assert "run again with the same --checkpoint" in capsys.readouterr().err
    assert main(["stream", "--data", str(tmp_path / "full.csv"), "--checkpoint", str(checkpoint), *STREAM]) == 0
    assert main(["stream", "--data", str(tmp_path / "full.csv"), "--out", str(tmp_path / "one.csv"), *STREAM]) == 0
    assert (checkpoint / "scores.csv").read_text() == (tmp_path / "one.csv").read_text()
    assert len((tmp_path / "one.csv").read_text().splitlines()) == 61


# --- missing extras, a report of the wrong kind, user slips ------------------------------------------
def test_a_missing_optional_dependency_is_one_line_naming_its_extra(results, tmp_path, monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    assert main(["report", str(results), "--out", str(tmp_path / "r.html")]) == 2
    assert "pip install 'genad[bench]'" in error_of(capsys)
    assert not (tmp_path / "r.html").exists()


def test_stream_baselines_without_their_library_are_refused_before_the_run(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pysad" else real(name, *a))
    out = tmp_path / "s.sqlite"
    assert main(["bench-streams", "--results", str(out), "--models", "memstream,rshash", "--datasets", "ionosphere"]) == 2
    assert "['rshash'] need pysad" in error_of(capsys) and not out.exists()


def test_a_time_series_results_file_is_sent_to_report_ts(tmp_path, capsys):
    path = tmp_path / "ts.sqlite"
    with ResultStore(path) as store:
        store.write(dict(suite="smd", dataset="machine-1-1", model="win:ae", seed=0, protocol="train-test",
                         anomalies="real", status="ok", auroc=0.9, auprc=0.5, fit_seconds=0.1, score_seconds=0.1,
                         peak_memory_mb=1.0))
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) == 2
    assert "genad report-ts" in error_of(capsys)


def test_user_slips_get_advice_that_fits():
    from genad.timeseries import windowed

    with pytest.raises(TypeError, match="length=..., not window="):
        windowed("ae", window=32)
    det = genad.create("ae", epochs=1, random_state=0).fit(np.random.default_rng(0).normal(size=(40, 5)))
    with pytest.raises(ValueError, match=r"one row: X.reshape\(1, -1\)"):
        det.decision_function(np.zeros(5))
    with pytest.raises(FileNotFoundError, match="model file not found"):
        genad.load("no-such-model.genad")
