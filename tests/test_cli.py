"""The genad command line, run in-process through its main()."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import genad
from genad.cli import main


def test_list_shows_every_model_with_its_paper(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for info in genad.list_models():
        assert info.name in out and str(info.paper.year) in out


def test_fit_then_score_roundtrip(tmp_path, planted, capsys):
    X_train, X_test, _ = planted
    pd.DataFrame(X_train).assign(label=0).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame(X_test).to_csv(tmp_path / "test.csv", index=False)
    model, scores = tmp_path / "m.genad", tmp_path / "scores.csv"
    assert main(["fit", "--model", "ae", "--data", str(tmp_path / "train.csv"), "--set", "epochs=2",
                 "--set", "hidden_dims=(16, 4)", "--set", "random_state=0", "--out", str(model)]) == 0
    assert main(["score", "--model", str(model), "--data", str(tmp_path / "test.csv"), "--out", str(scores)]) == 0
    table = pd.read_csv(scores)
    assert list(table.columns) == ["row", "score", "label"] and len(table) == len(X_test)
    np.testing.assert_allclose(table["score"], genad.load(model).decision_function(X_test), rtol=1e-6)


def test_errors_are_reported_not_raised(tmp_path, capsys):
    assert main(["fit", "--model", "nope", "--data", str(tmp_path / "x.csv"), "--out", str(tmp_path / "m")]) == 2
    assert "error" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fit", "--model", "ae", "--data", "x.csv", "--set", "novalue", "--out", "m"])


def test_demo_prints_a_row_per_tabular_model(capsys):
    assert main(["demo", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "AUROC" in out
    for info in genad.list_models(modality="tabular"):
        assert f"\n{info.name} " in out


def test_bench_streams_names_unknown_models_and_streams_before_running(tmp_path, capsys):
    results = tmp_path / "s.sqlite"
    assert main(["bench-streams", "--models", "memstream,nope", "--results", str(results)]) == 2
    assert "unknown streams model(s) ['nope']" in capsys.readouterr().err
    assert main(["bench-streams", "--datasets", "kdd99", "--results", str(results)]) == 2
    assert "unknown stream(s) ['kdd99']" in capsys.readouterr().err
    assert not results.exists()
