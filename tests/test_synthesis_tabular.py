"""Each ADBench anomaly type has the property that defines it; generators are seeded; the bench can use them."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from genad.synthesis import generate_anomalies, replace_anomalies
from genad.synthesis.tabular import fit_normal_mixture


def two_cluster_normals(n: int = 1200, d: int = 6, seed: int = 0) -> np.ndarray:
    """Two correlated Gaussian clusters away from the origin."""
    rng = np.random.default_rng(seed)
    cov = 0.5 * np.eye(d) + 0.5  # correlation 0.5 between features
    a = rng.multivariate_normal(np.full(d, 3.0), cov, size=n // 2)
    b = rng.multivariate_normal(np.r_[np.full(d // 2, 3.0), np.full(d - d // 2, -3.0)], cov, size=n - n // 2)
    return np.vstack([a, b])


@pytest.fixture(scope="module")
def normals():
    return two_cluster_normals()


@pytest.fixture(scope="module")
def mixture(normals):
    return fit_normal_mixture(normals, seed=0, max_components=3)


def test_local_anomalies_are_near_the_normals_but_outside_their_typical_set(normals, mixture):
    local = generate_anomalies("local", normals, 400, seed=0)
    globals_ = generate_anomalies("global", normals, 400, seed=0)
    floor = np.quantile(mixture.score_samples(normals), 0.05)
    assert np.mean(mixture.score_samples(local) < floor) > 0.75
    # near: much closer to the normal rows than uniform draws over the range are
    assert np.median(cdist(local, normals).min(1)) < 0.5 * np.median(cdist(globals_, normals).min(1))


def test_local_anomalies_have_the_mixture_covariances_scaled_by_alpha(normals, mixture):
    X = generate_anomalies("local", normals, 20000, seed=4, alpha=5.0)
    # the covariance of the mixture with every component covariance times alpha, means and weights kept
    centre = mixture.weights_ @ mixture.means_
    between = np.einsum("k,ki,kj->ij", mixture.weights_, mixture.means_ - centre, mixture.means_ - centre)
    expected = 5.0 * np.einsum("k,kij->ij", mixture.weights_, mixture.covariances_) + between
    np.testing.assert_allclose(np.cov(X, rowvar=False), expected, atol=0.05 * np.abs(expected).max())
    np.testing.assert_allclose(X.mean(0), centre, atol=0.1)


def test_global_anomalies_spread_uniformly_over_the_widened_range(normals):
    X = generate_anomalies("global", normals, 2000, seed=1, alpha=1.1)
    low, high = normals.min(0), normals.max(0)
    centre, half = (low + high) / 2, 1.1 * (high - low) / 2
    assert np.all(X >= centre - half) and np.all(X <= centre + half)
    for j in range(X.shape[1]):
        assert stats.kstest(X[:, j], "uniform", args=(centre[j] - half[j], 2 * half[j])).pvalue > 0.001
    assert np.any(X < low) and np.any(X > high)  # beyond the normal range too


def test_dependency_anomalies_keep_marginals_and_break_correlation(normals):
    X = generate_anomalies("dependency", normals, 3000, seed=2)
    for j in range(X.shape[1]):
        assert stats.ks_2samp(X[:, j], normals[:, j]).pvalue > 0.001
    normal_corr = np.corrcoef(normals, rowvar=False)[np.triu_indices(X.shape[1], 1)]
    anomaly_corr = np.corrcoef(X, rowvar=False)[np.triu_indices(X.shape[1], 1)]
    assert np.abs(normal_corr).min() > 0.15 and np.abs(anomaly_corr).max() < 0.08


def test_clustered_anomalies_form_tight_groups_away_from_the_normals(normals, mixture):
    X = generate_anomalies("clustered", normals, 400, seed=3, beta=5.0)
    assert mixture.score_samples(X).max() < mixture.score_samples(normals).min()
    assert cdist(X, normals).min() > 3.0
    labels = cdist(X, 5.0 * mixture.means_).argmin(1)  # the scaled component each anomaly came from
    for k in np.unique(labels):  # centred on beta times the component's mean (scaled about the origin)
        np.testing.assert_allclose(X[labels == k].mean(0), 5.0 * mixture.means_[k], atol=0.3)
    spread_anomalies = np.mean([np.linalg.norm(X[labels == k] - X[labels == k].mean(0), axis=1).mean()
                                for k in np.unique(labels)])
    normal_labels = mixture.predict(normals)
    spread_normals = np.mean([np.linalg.norm(normals[normal_labels == k] - mixture.means_[k], axis=1).mean()
                              for k in range(mixture.n_components)])
    assert spread_anomalies < 1.3 * spread_normals


@pytest.mark.parametrize("kind", ["local", "global", "dependency", "clustered"])
def test_seeded(kind, normals):
    few = normals[::10]  # 120 rows: the mixture's BIC search stays cheap
    a = generate_anomalies(kind, few, 20, seed=5)
    b = generate_anomalies(kind, few, 20, seed=5)
    c = generate_anomalies(kind, few, 20, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_replace_keeps_normal_rows_and_the_number_of_anomalies(normals):
    y = np.r_[np.zeros(len(normals) - 30), np.ones(30)].astype(int)
    X_new, y_new = replace_anomalies(normals, y, "global", seed=0)
    np.testing.assert_array_equal(X_new[y_new == 0], normals[y == 0])
    assert int(y_new.sum()) == 30 and X_new.shape == normals.shape
    assert not np.isin(X_new[y_new == 1][:, 0], normals[:, 0]).any()


def test_bad_input_is_refused(normals):
    with pytest.raises(ValueError, match="unknown anomaly type"):
        generate_anomalies("contextual", normals, 5)
    with pytest.raises(ValueError, match="alpha"):
        generate_anomalies("local", normals, 5, alpha=-1.0)
    with pytest.raises(TypeError, match="beta"):
        generate_anomalies("global", normals, 5, beta=2.0)
    with pytest.raises(ValueError, match="NaN"):
        generate_anomalies("global", np.full((5, 2), np.nan), 5)
    with pytest.raises(ValueError, match="1 anomaly"):
        replace_anomalies(normals, np.zeros(len(normals), dtype=int), "local")


def test_the_bench_runs_a_cell_with_synthetic_anomalies(tmp_path):
    from bench_data import make_data_dir
    from genad.bench import make_grid, parse_model_spec, resolve_datasets, run_cell

    root = make_data_dir(tmp_path, names=("1_alpha",))
    (cell,) = make_grid(resolve_datasets(["adbench:alpha"], data_dir=root), [parse_model_spec("pyod:IForest")],
                        [0], ["one-class"], anomalies=["global"])
    record = run_cell(cell)
    assert record["status"] == "ok" and record["anomalies"] == "global" and record["auroc"] > 0.9
    with pytest.raises(ValueError, match="unknown anomaly type"):
        make_grid([cell.dataset], [parse_model_spec("pyod:IForest")], [0], ["one-class"], anomalies=["weird"])
