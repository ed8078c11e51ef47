"""Evaluation protocols of the streams suite and the NAB loader, from an audit of what they measure."""
import json

import numpy as np
import pandas as pd
import pytest

from genad.bench import streams
from genad.metrics import auroc


def test_the_warm_up_window_is_in_no_metric_of_any_model(monkeypatch):
    """Scores of the warm-up window are in-sample for models that train on it first: left out, for all alike."""
    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.2).astype(np.int64)
    y[:4] = [0, 1, 0, 1]
    n_warm = streams.warm_up_size(len(y))
    scores = rng.random(len(y))
    scores[:n_warm] = 10.0 * y[:n_warm]  # perfect in the window, as scores of records already learned would be
    monkeypatch.setattr(streams, "load_stream", lambda name: (np.zeros((len(y), 2), np.float32), y))
    monkeypatch.setattr(streams, "build_model", lambda *args: ((lambda: None), (lambda X: scores.copy()), None))

    record = streams.run_cell("fake", "any", 0)

    assert record["status"] == "ok", record.get("error")
    assert record["auroc"] == auroc(y[n_warm:], scores[n_warm:]) != auroc(y, scores)
    assert record["extra"]["window_aurocs"] == streams.window_aurocs(y[n_warm:], scores[n_warm:])
    assert record["extra"]["auroc_with_warm_up"] == auroc(y, scores)
    assert record["extra"]["warm_up_records"] == n_warm


@pytest.mark.parametrize("name", ["xstream", "rshash"])
def test_pysad_baselines_score_the_records_given_each_before_learning_it(name):
    pysad_models = pytest.importorskip("pysad.models")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3)).astype(np.float32)
    warm, stream, _ = streams.build_model(name, X, np.zeros(80, np.int64), 0, "fake")
    warm()
    assert len(stream(X[:10])) == 10  # the stream it is handed, not the one it was built with

    _, stream, _ = streams.build_model(name, X, np.zeros(80, np.int64), 0, "fake")
    first = stream(X[:1])[0]
    rows = X[:streams.warm_up_size(len(X))].astype(np.float64)
    fresh = (pysad_models.xStream(random_state=0) if name == "xstream"
             else pysad_models.RSHash(rows.min(0), rows.max(0), random_state=0))
    assert first == np.ravel(fresh.score_partial(X[0].astype(np.float64)))[0]  # by a model that has not learned it


def fake_nab(root, n_rows: int, window: tuple[int, int]) -> pd.DatetimeIndex:
    """A NAB folder under ``root`` with one series ``fake/a.csv`` of ``n_rows`` steps and one labelled window
    from step ``window[0]`` to step ``window[1]``; returns the series' time stamps."""
    nab = root / "nab"
    (nab / "data" / "fake").mkdir(parents=True)
    (nab / "labels").mkdir()
    stamps = pd.date_range("2020-01-01", periods=n_rows, freq="5min")
    pd.DataFrame({"timestamp": stamps, "value": np.arange(float(n_rows))}).to_csv(nab / "data" / "fake" / "a.csv",
                                                                                  index=False)
    windows = {"fake/a.csv": [[f"{stamps[window[0]]}.000000", f"{stamps[window[1]]}.000000"]]}  # NAB's time format
    (nab / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return stamps


def test_nab_test_labels_cover_only_the_scored_steps(tmp_path):
    """A window that straddles the training part labels only its scored steps, both ends included."""
    from genad.data import load_nab

    stamps = fake_nab(tmp_path, 200, (20, 40))
    series = load_nab("fake/a.csv", str(tmp_path))

    assert len(series.train) == 30  # 15% of 200
    assert series.labels.tolist() == [1] * 11 + [0] * 159  # steps 30..40 of the series
    assert series.timestamps[0] == stamps[30]


def test_nab_trains_on_its_probationary_period_of_at_most_750_rows(tmp_path):
    """NAB's getProbationPeriod: min(floor(0.15 n), 0.15 * 5000); a long series keeps its labels to score."""
    from genad.data import load_nab

    fake_nab(tmp_path, 6000, (800, 899))
    series = load_nab("fake/a.csv", str(tmp_path))

    assert len(series.train) == 750 and len(series.test) == 5250  # not 900 = 15% of 6,000
    assert series.labels.sum() == 100  # the whole window is scored
    assert len(load_nab("fake/a.csv", str(tmp_path), max_train=None).train) == 900
