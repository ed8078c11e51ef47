"""Bad input to the anomaly synthesisers fails at the door with a clear error; extreme values never come out."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genad.synthesis import generate_anomalies, inject_anomalies, replace_anomalies
from genad.synthesis.tabular import fit_normal_mixture, local_anomalies

FLOAT32_MAX = float(np.finfo(np.float32).max)


@pytest.fixture(scope="module")
def X():
    return np.random.default_rng(0).normal(size=(40, 3))


def sine(n: int = 300) -> np.ndarray:
    return np.sin(np.arange(n) / 5)


# --- tabular ---------------------------------------------------------------------------------------------

def test_a_csv_path_is_read_like_an_array(X, tmp_path):
    path = tmp_path / "x.csv"
    pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=0).to_csv(path, index=False)  # label column dropped
    X = pd.read_csv(path).drop(columns="label")  # the values as the CSV text gives them back
    for kind in ("global", "local"):
        np.testing.assert_array_equal(generate_anomalies(kind, path, 4, seed=1),
                                      generate_anomalies(kind, X, 4, seed=1))
    y = np.r_[np.zeros(35), np.ones(5)].astype(int)
    X_new, y_new = replace_anomalies(str(path), y, "global", seed=2)
    np.testing.assert_array_equal(X_new, replace_anomalies(X, y, "global", seed=2)[0])


def test_a_missing_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        generate_anomalies("global", tmp_path / "nope.csv", 3)


@pytest.mark.parametrize("kind", ["local", "clustered"])
def test_a_mixture_that_cannot_be_fitted_names_the_data_scale(kind, X):
    with pytest.raises(ValueError, match=r"could not fit a Gaussian mixture.*scale.*distinct rows"):
        generate_anomalies(kind, X * 1e30, 3)


def test_global_alpha_too_large_for_the_data(X):
    with pytest.raises(ValueError, match=r"global anomalies with alpha=1e\+308.*float32 range"):
        generate_anomalies("global", X, 3, alpha=1e308)


def test_local_alpha_too_large_for_the_data(X):
    with pytest.raises(ValueError, match=r"local anomalies with alpha=1e\+308.*lower alpha"):
        generate_anomalies("local", X * 100, 3, alpha=1e308)


def test_clustered_beta_too_large_for_the_data(X):
    with pytest.raises(ValueError, match=r"clustered anomalies with beta=1e\+300.*lower beta"):
        generate_anomalies("clustered", X * 100 + 1e10, 3, beta=1e300)


def test_drawn_rows_beyond_float32_are_refused(X):
    # the spread passes the check before sampling (std just under float32's limit); most draws land beyond it
    gmm = fit_normal_mixture(X, seed=0, max_components=1)
    alpha = 0.9 * FLOAT32_MAX ** 2 / gmm.covariances_.diagonal(axis1=1, axis2=2).max()
    with pytest.raises(ValueError, match="local anomalies with alpha=.*float32 range"):
        local_anomalies(X, 50, seed=0, alpha=alpha, gmm=gmm)


def test_data_beyond_float32_is_named_as_too_large(X):
    with pytest.raises(ValueError, match="beyond the float32 range"):
        generate_anomalies("global", X * 1e300, 3)


def test_kind_must_be_a_string(X):
    with pytest.raises(TypeError, match="kind must be a string"):
        generate_anomalies(["local"], X, 3)
    with pytest.raises(TypeError, match="kind must be a string"):
        replace_anomalies(X, np.r_[np.zeros(39), 1], np.array(["global"]))


def test_a_series_is_one_feature_and_a_tensor_that_needs_grad_is_read(X):
    assert generate_anomalies("global", pd.Series(X[:, 0]), 3).shape == (3, 1)
    torch = pytest.importorskip("torch")
    tensor = torch.tensor(X, requires_grad=True)
    np.testing.assert_array_equal(generate_anomalies("global", tensor, 3), generate_anomalies("global", X, 3))


# --- time series -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, error, fragment", [
    ("a.csv", TypeError, "numeric series"),
    (None, TypeError, "dtype object"),
    ([[1.0, 2.0], [3.0]], TypeError, "could not be read"),
    (np.arange(100) + 1j, TypeError, "complex"),
    (np.array(["1", "2"] * 50), TypeError, "dtype <U1"),
    (pd.DataFrame({"a": ["x"] * 100}), TypeError, "non-numeric column"),
    (np.zeros((100, 0)), ValueError, "no channels"),
    (sine() * 1e300, ValueError, "beyond the float32 range"),
])
def test_a_bad_series_is_named(bad, error, fragment):
    with pytest.raises(error, match=fragment):
        inject_anomalies(bad, "global")


@pytest.mark.parametrize("params, error, fragment", [
    ({"kind": 3}, TypeError, "kind must be a string"),
    ({"kind": np.array(["global"])}, TypeError, "kind must be a string"),
    ({"n": 0}, ValueError, "n must be"),
    ({"length": -5, "kind": "trend"}, ValueError, "length must be"),
    ({"context": -1, "kind": "contextual"}, ValueError, "context must be"),
    ({"seed": -1}, ValueError, "seed must be"),
    ({"seed": 1.5}, TypeError, "seed must be an integer"),
    ({"strength": "3"}, TypeError, "strength must be a number"),
    ({"length": 500, "kind": "shapelet"}, ValueError, "cannot place 1 .* length 500 in 300 steps"),
    ({"context": 200, "kind": "contextual"}, ValueError, r"2 \* context \+ 1"),
    ({"n": 10 ** 12}, ValueError, "at most 150 fit"),
])
def test_a_bad_parameter_is_named(params, error, fragment):
    params = {"kind": "global", **params}
    with pytest.raises(error, match=fragment):
        inject_anomalies(sine(), **params)


@pytest.mark.parametrize("kind", ["global", "shapelet", "trend"])
def test_a_strength_that_overflows_is_named(kind):
    with pytest.raises(ValueError, match=f"{kind} anomalies with strength=1e\\+308.*float32 range"):
        inject_anomalies(sine() * 100, kind, strength=1e308, length=20, context=5)


def test_a_huge_contextual_strength_is_capped_at_the_series_range():
    x = sine() * 100
    y, labels = inject_anomalies(x, "contextual", n=3, strength=1e308, context=5, seed=0)
    assert set(y[labels == 1]) <= {x.min(), x.max()}


def test_a_tensor_that_needs_grad_is_read():
    torch = pytest.importorskip("torch")
    a, labels = inject_anomalies(torch.tensor(sine(), requires_grad=True), "trend", length=20, seed=3)
    b, _ = inject_anomalies(sine(), "trend", length=20, seed=3)
    np.testing.assert_array_equal(a, b)
