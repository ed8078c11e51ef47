"""The detector contract, checked on every registered tabular model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import genad
from fast_params import fast_params

TABULAR = [info.name for info in genad.list_models(modality="tabular")]


def fitted(name, X, **extra):
    return genad.create(name, random_state=0, **{**fast_params(name), **extra}).fit(X)


@pytest.fixture(scope="module", params=TABULAR)
def model(request, planted):
    X_train, _, _ = planted
    return request.param, fitted(request.param, X_train)


def test_registry_lists_models():
    assert len(TABULAR) >= 1
    for info in genad.list_models():
        assert info.paper.year > 1990 and info.paper.title
        assert info.parameters == set(genad.create(info.name).get_params())


def test_scores_labels_probabilities(model, planted):
    name, det = model
    X_train, X_test, _ = planted
    scores = det.decision_function(X_test)
    assert scores.shape == (len(X_test),) and np.isfinite(scores).all()
    assert set(np.unique(det.predict(X_test))) <= {0, 1}
    proba = det.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert (proba >= 0).all() and (proba <= 1).all() and np.allclose(proba.sum(1), 1)
    assert det.decision_scores_.shape == (len(X_train),)
    if name != "ensemble":  # its DTE-NP member leaves each training row out of its neighbours (test_models_ensemble)
        np.testing.assert_allclose(det.decision_scores_, det.decision_function(X_train), rtol=1e-5, atol=1e-6)
    assert det.labels_.shape == (len(X_train),) and np.isfinite(det.threshold_)


def test_same_seed_same_scores(model, planted):
    name, det = model
    X_train, X_test, _ = planted
    again = fitted(name, X_train)
    np.testing.assert_array_equal(det.decision_function(X_test), again.decision_function(X_test))


def test_clone_keeps_params_and_is_unfitted(model):
    name, det = model
    copy = clone(det)
    assert copy.get_params() == det.get_params()
    assert not hasattr(copy, "decision_scores_")


def test_save_load_roundtrip(model, planted, tmp_path):
    name, det = model
    _, X_test, _ = planted
    path = tmp_path / f"{name}.genad"
    det.save(path)
    loaded = genad.load(path)
    for part in (loaded, *getattr(loaded, "members_", ())):  # an ensemble's members hold the devices
        assert getattr(part, "device_", None) is None or part.device_.type == "cpu"
    assert any(hasattr(part, "device_") for part in (loaded, *getattr(loaded, "members_", ())))
    np.testing.assert_array_equal(loaded.decision_function(X_test), det.decision_function(X_test))


def test_capabilities_match_registry(model, planted):
    name, det = model
    _, X_test, _ = planted
    caps = genad.get_info(name).capabilities
    for cap in ("explain", "restore"):
        if cap in caps:
            out = getattr(det, cap)(X_test)
            assert out.shape == X_test.shape and np.isfinite(out).all()
        else:
            with pytest.raises(NotImplementedError, match=name):
                getattr(det, cap)(X_test)
    if "sample" in caps:
        draws = det.sample(16)
        assert draws.shape == (16, X_test.shape[1]) and np.isfinite(draws).all()
    else:
        with pytest.raises(NotImplementedError, match=name):
            det.sample(4)


def test_accepts_dataframe(model, planted):
    name, det = model
    _, X_test, _ = planted
    frame = pd.DataFrame(X_test, columns=[f"f{i}" for i in range(X_test.shape[1])])
    np.testing.assert_allclose(det.decision_function(frame), det.decision_function(X_test), rtol=1e-6)


BAD_SCORE_INPUTS = {
    "nan": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X),
    "inf": lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X),
    "1-D": lambda X: X[:, 0],
    "3-D": lambda X: X[None],
    "wrong feature count": lambda X: X[:, :-1],
    "text": lambda X: X.astype(str),
    "empty": lambda X: X[:0],
}


@pytest.mark.parametrize("case", sorted(BAD_SCORE_INPUTS))
def test_bad_score_input_is_rejected_at_the_door(model, planted, case):
    name, det = model
    _, X_test, _ = planted
    with pytest.raises((ValueError, TypeError)):
        det.decision_function(BAD_SCORE_INPUTS[case](X_test))


@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.parametrize("bad", [
    {"epochs": -1}, {"epochs": 0}, {"epochs": 1.5}, {"contamination": 0.0}, {"contamination": 0.7},
    {"contamination": "sometimes"}, {"batch_size": 0}, {"lr": -1.0}, {"random_state": -3},
])
def test_bad_parameters_are_rejected(name, bad, planted):
    X_train, _, _ = planted
    with pytest.raises((ValueError, TypeError)):
        genad.create(name, **bad).fit(X_train)


@pytest.mark.parametrize("name", TABULAR)
def test_bad_fit_input_is_rejected(name, planted):
    X_train, _, _ = planted
    det = genad.create(name, **fast_params(name))
    for bad in (X_train[:1], X_train[:0], X_train[:, 0], np.full_like(X_train, np.nan),
                pd.DataFrame({"a": ["x"] * 5, "b": np.arange(5.0)})):
        with pytest.raises((ValueError, TypeError)):
            det.fit(bad)
