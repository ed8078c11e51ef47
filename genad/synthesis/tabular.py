"""Realistic synthetic tabular anomalies of four types, after ADBench (Han et al., NeurIPS 2022, section 3.3).

Each generator learns from the *normal* rows of a real dataset and draws anomalies of one type:

- ``local``: a Gaussian mixture fitted to the normals, every covariance scaled by ``alpha`` (default 5):
  points near the normal modes but outside their typical set.
- ``global``: independent uniform draws in each feature's range widened by ``alpha`` (default 1.1).
- ``dependency``: the normals' marginals kept, their dependence removed. ADBench fits a vine copula to
  the normals (the ``copulas`` package) and draws anomalies from independent Gaussian-KDE marginals; genad
  draws each feature independently from the normals' empirical marginal (the independence copula with
  empirical quantile functions, linearly interpolated), which keeps every marginal (up to that
  interpolation between neighbouring values) and breaks all dependence without that dependency.
- ``clustered``: the mixture's means scaled by ``beta`` (default 5), covariances kept: tight groups away
  from the normal data. As in ADBench the means are scaled about the origin, so a component centred near
  zero moves little: synthesise on unscaled data (the bench does, and standardises afterwards).

As in ADBench the mixture's number of components is chosen by BIC (1 to ``max_components``). Deviations:
genad keeps the dataset's real normal rows (ADBench also re-draws the normals from the fitted model), so the
``global`` range is that of the real normal rows (ADBench's is that of its re-drawn ones); that range is
widened about each feature's centre rather than about zero (ADBench draws from ``[alpha * min, alpha * max]``),
so it does not depend on where the origin lies.

References
----------
Han, S., Hu, X., Huang, H., Jiang, M. and Zhao, Y. "ADBench: Anomaly Detection Benchmark". NeurIPS 2022
(Datasets and Benchmarks), arXiv:2206.09426.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from genad.validation import FLOAT32_MAX, as_2d_float, as_labels, check_float, check_int

ANOMALY_TYPES = ("local", "global", "dependency", "clustered")
_REG_COVAR = 1e-6


def _as_float64(X: Any, name: str = "X") -> np.ndarray:
    """``X`` as a float64 array after the door's checks (shape, numeric, finite, inside float32's range).

    A path is read as :func:`~genad.validation.as_2d_float` reads it (its label column dropped); the
    conversion here keeps the full precision that the door's float32 copy would lose.
    """
    if isinstance(X, (str, Path)):
        from genad.data import read_table

        X, _ = read_table(X)
    module = type(X).__module__
    if module.startswith("torch"):
        X = X.detach().cpu()  # numpy refuses tensors that need grad or live on a GPU
    elif module.startswith("pandas") and X.ndim == 1:
        X = X.to_frame()  # the door reads a Series as one column
    as_2d_float(X, name=name, min_rows=2)
    if module.startswith("torch"):
        X = X.double().numpy()  # exact for every real dtype, bfloat16 included (numpy has none)
    return np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X, dtype=np.float64)


def _too_large(kind: str, param: str, value: float, X_normal: np.ndarray) -> ValueError:
    return ValueError(f"{kind} anomalies with {param}={value!r} on data of scale {np.abs(X_normal).max():.3g} "
                      f"(largest |value|) fall outside the float32 range (±{FLOAT32_MAX:.3g}); "
                      f"lower {param} or rescale X_normal")


def _in_range(out: np.ndarray, kind: str, param: str, value: float, X_normal: np.ndarray) -> np.ndarray:
    """``out`` if every value is finite and inside float32's range, else the error naming ``param``."""
    if not (np.abs(out) <= FLOAT32_MAX).all():  # NaN fails the comparison too
        raise _too_large(kind, param, value, X_normal)
    return out


def fit_normal_mixture(X_normal: np.ndarray, seed: int, max_components: int = 9) -> GaussianMixture:
    """The full-covariance Gaussian mixture with the lowest BIC among 1..``max_components`` components
    (at most half the rows, so that small data sets can be fitted)."""
    best, best_bic = None, np.inf
    # EM on small matrices: extra BLAS threads only contend (50x slower on a busy machine), so use one
    with threadpool_limits(limits=1, user_api="blas"):
        for k in range(1, min(max_components, len(X_normal) // 2) + 1):
            gmm = GaussianMixture(n_components=k, covariance_type="full", reg_covar=_REG_COVAR,
                                  random_state=seed)
            try:
                gmm.fit(X_normal)
            except ValueError as err:  # sklearn's "ill-defined empirical covariance" (LinAlgError included)
                raise _mixture_failure(X_normal, k) from err
            bic = gmm.bic(X_normal)
            if bic < best_bic:
                best, best_bic = gmm, bic
    if best is None:  # every BIC was NaN
        raise _mixture_failure(X_normal, 1)
    return best


def _mixture_failure(X_normal: np.ndarray, k: int) -> ValueError:
    distinct = len(np.unique(X_normal, axis=0))
    return ValueError(
        f"could not fit a Gaussian mixture with {k} component(s) to the normal rows: a component's covariance "
        f"is singular. The usual causes are the data's scale (largest |value| {np.abs(X_normal).max():.3g}; "
        f"the covariance regularisation {_REG_COVAR:g} is absolute, so standardise the data first) or too few "
        f"distinct rows ({distinct} of {len(X_normal)})")


def _sample_mixture(gmm: GaussianMixture, n: int, rng: np.random.Generator,
                    means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    components = rng.choice(len(gmm.weights_), size=n, p=gmm.weights_ / gmm.weights_.sum())
    out = np.empty((n, means.shape[1]))
    for k in np.unique(components):
        rows = components == k
        out[rows] = rng.multivariate_normal(means[k], covariances[k], size=int(rows.sum()), method="eigh")
    return out


def local_anomalies(X_normal: np.ndarray, n: int, seed: int, alpha: float = 5.0,
                    gmm: GaussianMixture | None = None) -> np.ndarray:
    """Draws from the normals' mixture with every covariance scaled by ``alpha``."""
    gmm = gmm or fit_normal_mixture(X_normal, seed)
    with np.errstate(over="ignore"):  # an overflow is named just below
        covariances = alpha * gmm.covariances_
    if not np.diagonal(covariances, axis1=1, axis2=2).max() <= FLOAT32_MAX ** 2:  # spread beyond float32
        raise _too_large("local", "alpha", alpha, X_normal)
    out = _sample_mixture(gmm, n, np.random.default_rng(seed), gmm.means_, covariances)
    return _in_range(out, "local", "alpha", alpha, X_normal)


def clustered_anomalies(X_normal: np.ndarray, n: int, seed: int, beta: float = 5.0,
                        gmm: GaussianMixture | None = None) -> np.ndarray:
    """Draws from the normals' mixture with every mean scaled by ``beta`` (covariances kept)."""
    gmm = gmm or fit_normal_mixture(X_normal, seed)
    with np.errstate(over="ignore"):  # an overflow is named just below
        means = beta * gmm.means_
    if not np.abs(means).max() <= FLOAT32_MAX:  # centres beyond float32
        raise _too_large("clustered", "beta", beta, X_normal)
    out = _sample_mixture(gmm, n, np.random.default_rng(seed), means, gmm.covariances_)
    return _in_range(out, "clustered", "beta", beta, X_normal)


def global_anomalies(X_normal: np.ndarray, n: int, seed: int, alpha: float = 1.1) -> np.ndarray:
    """Independent uniform draws in each feature's range, widened by ``alpha`` about its centre."""
    low, high = X_normal.min(axis=0), X_normal.max(axis=0)
    with np.errstate(over="ignore"):  # an overflow is named just below
        centre, half = (low + high) / 2, alpha * (high - low) / 2
        inside = (np.abs(centre) + half <= FLOAT32_MAX).all()  # the draws' bounds lie in float32's range
    if not inside:
        raise _too_large("global", "alpha", alpha, X_normal)
    return np.random.default_rng(seed).uniform(centre - half, centre + half, size=(n, X_normal.shape[1]))


def dependency_anomalies(X_normal: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Each feature drawn independently from the normals' empirical marginal (independence copula)."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=(n, X_normal.shape[1]))
    return np.column_stack([np.quantile(X_normal[:, j], u[:, j]) for j in range(X_normal.shape[1])])


def _check_kind(kind: Any) -> None:
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, one of {ANOMALY_TYPES}; got {kind!r}")
    if kind not in ANOMALY_TYPES:
        raise ValueError(f"unknown anomaly type {kind!r}; expected one of {ANOMALY_TYPES}")


def generate_anomalies(kind: str, X_normal: Any, n: int, seed: int = 0, **params: float) -> np.ndarray:
    """``n`` anomalies of type ``kind`` learned from ``X_normal``.

    Parameters
    ----------
    kind : one of :data:`ANOMALY_TYPES`.
    X_normal : the normal rows, at least 2, finite and inside float32's range: an array, DataFrame, tensor,
        nested list or a path to a ``.csv``/``.parquet``/``.npz`` file (read as
        :func:`~genad.validation.as_2d_float` reads it, its label column dropped).
    n : how many anomalies, at least 1.
    seed : the same seed gives the same anomalies.
    **params : ``alpha`` for local (default 5) and global (default 1.1), ``beta`` for clustered (default 5);
        positive and finite. Values that would put anomalies outside float32's range raise ``ValueError``.

    Returns
    -------
    A float64 ``(n, n_features)`` array.
    """
    _check_kind(kind)
    X_normal = _as_float64(X_normal, "X_normal")
    check_int("n", n, low=1)
    check_int("seed", seed, low=0)
    allowed = {"local": {"alpha"}, "global": {"alpha"}, "clustered": {"beta"}, "dependency": set()}[kind]
    if set(params) - allowed:
        raise TypeError(f"{kind} anomalies take {sorted(allowed) or 'no parameters'}, got {sorted(params)}")
    for name, value in params.items():
        check_float(name, value, 0.0, low_closed=False)
    makers = {"local": local_anomalies, "global": global_anomalies,
              "dependency": dependency_anomalies, "clustered": clustered_anomalies}
    return makers[kind](X_normal, n, seed, **params)


def replace_anomalies(X, y, kind: str, seed: int = 0, **params: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep the normal rows of ``(X, y)`` and replace its anomalies by as many generated ones of type ``kind``.

    ``X`` is read as in :func:`generate_anomalies` (a path's own label column is dropped: labels come
    from ``y``); ``y`` holds 0 (normal) / 1 (anomaly) per row.

    Returns ``(X_new, y_new)``: the normal rows first, then the synthetic anomalies (label 1).
    """
    _check_kind(kind)
    X = _as_float64(X)
    y = as_labels(y, X.shape[0])
    normal = X[y == 0]
    n_anomalies = int((y == 1).sum())
    if n_anomalies == 0 or len(normal) < 2:
        raise ValueError("replace_anomalies needs at least 2 normal rows and 1 anomaly to replace")
    synthetic = generate_anomalies(kind, normal, n_anomalies, seed, **params)
    return np.vstack([normal, synthetic]), np.r_[np.zeros(len(normal)), np.ones(n_anomalies)].astype(int)
