"""`genad synthesize`, `genad restore`, `genad explain` and `genad sample`: the generative tasks from the command
line."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import genad
from genad.cli import main


@pytest.fixture
def labelled_csv(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    labels = np.r_[np.zeros(110), np.ones(10)].astype(int)
    path = tmp_path / "table.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=labels).to_csv(path, index=False)
    return path, X, labels


def test_tabular_synthesis_keeps_the_normal_rows_and_replaces_the_anomalies(labelled_csv, tmp_path):
    path, X, labels = labelled_csv
    out = tmp_path / "out.csv"
    assert main(["synthesize", "--data", str(path), "--kind", "global", "--seed", "3", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["a", "b", "c", "label"] and table.label.sum() == 10
    np.testing.assert_allclose(table[table.label == 0][["a", "b", "c"]], X[labels == 0])
    expected, _ = genad.synthesis.replace_anomalies(X, labels, "global", seed=3)
    np.testing.assert_allclose(table[["a", "b", "c"]], expected)  # the library's generator, seeded


def test_tabular_synthesis_with_n_and_a_parameter(labelled_csv, tmp_path):
    path, X, labels = labelled_csv
    out = tmp_path / "out.parquet"
    pytest.importorskip("pyarrow")
    assert main(["synthesize", "--data", str(path), "--kind", "clustered", "--n", "25", "--set", "beta=3",
                 "--out", str(out)]) == 0
    table = pd.read_parquet(out)
    assert len(table) == 110 + 25 and table.label.tolist() == [0] * 110 + [1] * 25


def test_series_synthesis_injects_in_place_and_keeps_the_files_labels(tmp_path):
    t = np.arange(500)
    labels = np.zeros(500, dtype=int)
    labels[10:12] = 1  # already labelled in the file
    path, out = tmp_path / "series.csv", tmp_path / "out.csv"
    pd.DataFrame({"v": np.sin(t / 9), "label": labels}).to_csv(path, index=False)
    assert main(["synthesize", "--data", str(path), "--time-series", "--kind", "trend", "--n", "2",
                 "--set", "length=30", "--set", "persist=True", "--seed", "1", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    series, injected = genad.synthesis.inject_anomalies(np.sin(t / 9), "trend", 2, length=30, persist=True, seed=1)
    np.testing.assert_allclose(table.v, series)
    np.testing.assert_array_equal(table.label, np.maximum(injected, labels))


@pytest.mark.parametrize("extra, out_name, message", [
    (["--kind", "shapelet"], "o.csv", "tabular anomaly type 'shapelet'"),
    (["--kind", "local", "--time-series"], "o.csv", "time-series anomaly type 'local'"),
    (["--kind", "local", "--set", "length=3"], "o.csv", "--set takes alpha, beta"),
    (["--kind", "local"], "o.txt", "use a .csv or .parquet"),
])
def test_bad_synthesis_requests_are_named(tmp_path, capsys, extra, out_name, message):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) ** 0.5}).to_csv(path, index=False)
    assert main(["synthesize", "--data", str(path), *extra, "--n", "3", "--out", str(tmp_path / out_name)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / out_name).exists()


def test_tabular_replacement_needs_labels_or_n(tmp_path, capsys):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) ** 0.5}).to_csv(path, index=False)
    assert main(["synthesize", "--data", str(path), "--kind", "local", "--out", str(tmp_path / "o.csv")]) == 2
    assert "--n" in capsys.readouterr().err


def test_restore_writes_the_models_restoration_in_the_inputs_columns(labelled_csv, tmp_path, capsys):
    path, X, _ = labelled_csv
    model, out = tmp_path / "m.genad", tmp_path / "restored.csv"
    assert main(["fit", "--model", "ae", "--data", str(path), "--set", "epochs=2", "--set", "random_state=0",
                 "--set", "verbose=False", "--out", str(model)]) == 0
    assert main(["restore", "--model", str(model), "--data", str(path), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(table, genad.load(model).restore(X), rtol=1e-6, atol=1e-6)
    assert "largest mean change" in capsys.readouterr().out
    # genad explain: each row's per-column contributions, in the same columns
    assert main(["explain", "--model", str(model), "--data", str(path), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(table, genad.load(model).explain(X), rtol=1e-6, atol=1e-6)
    assert "largest mean contribution" in capsys.readouterr().out


def test_restore_with_a_model_that_cannot_is_an_error(labelled_csv, tmp_path, capsys):
    path, _, _ = labelled_csv
    model = tmp_path / "dte.genad"
    assert main(["fit", "--model", "dte", "--data", str(path), "--set", "kind=nonparametric",
                 "--out", str(model)]) == 0
    assert main(["restore", "--model", str(model), "--data", str(path), "--out", str(tmp_path / "r.csv")]) == 2
    assert "cannot restore" in capsys.readouterr().err
    assert main(["explain", "--model", str(model), "--data", str(path), "--out", str(tmp_path / "r.csv")]) == 2
    assert "cannot explain" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()


def test_sample_draws_seeded_rows_in_the_training_columns(labelled_csv, tmp_path, capsys):
    path, _, _ = labelled_csv
    model = tmp_path / "flow.genad"
    assert main(["fit", "--model", "realnvp", "--data", str(path), "--set", "epochs=2", "--set", "verbose=False",
                 "--out", str(model)]) == 0
    outs = [tmp_path / f"s{k}.csv" for k in range(3)]
    for out, seed in zip(outs, ("4", "4", "5")):
        assert main(["sample", "--model", str(model), "--n", "7", "--seed", seed, "--out", str(out)]) == 0
    first, again, other = (pd.read_csv(out) for out in outs)
    assert list(first.columns) == ["a", "b", "c"] and len(first) == 7
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first, other)
    np.testing.assert_allclose(first, genad.load(model).set_params(random_state=4).sample(7), rtol=1e-6)
    restorer = tmp_path / "ae.genad"
    assert main(["fit", "--model", "ae", "--data", str(path), "--set", "epochs=1", "--out", str(restorer)]) == 0
    assert main(["sample", "--model", str(restorer), "--n", "3", "--out", str(tmp_path / "no.csv")]) == 2
    assert "cannot sample" in capsys.readouterr().err
