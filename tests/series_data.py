"""A small periodic multichannel series and the contract checks shared by the time-series model tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import clone

import genad


def periodic_series(n: int = 500, seed: int = 0, periods: tuple[float, float, float] = (6, 4, 9)) -> np.ndarray:
    """``(n, 3)`` float32: sin, cos and sin of ``t / period`` for the three periods, plus N(0, 0.05^2) noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    a, b, c = periods
    return (np.c_[np.sin(t / a), np.cos(t / b), np.sin(t / c)] + 0.05 * rng.normal(size=(n, 3))).astype(np.float32)


def spiked_series() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(train, test, labels)``: periodic series of 600 and 400 steps, the test part with twelve single-step
    spikes of 1.5, each on one channel in turn."""
    train, test = periodic_series(600, seed=0), periodic_series(400, seed=1)
    labels = np.zeros(len(test), dtype=int)
    for i, step in enumerate(range(40, 400, 30)):
        test[step, i % 3] += 1.5
        labels[step] = 1
    return train, test, labels


def check_registered(name: str, family: str, venue: str, year: int, capabilities: set[str]) -> None:
    """The registry lists ``name`` as a time-series model of ``family``, citing its paper's venue and year,
    with exactly the optional ``capabilities``."""
    info = genad.get_info(name)
    assert "time-series" in info.modalities and info.family == family
    assert (info.paper.venue, info.paper.year) == (venue, year)
    assert set(info.capabilities) == capabilities


def check_step_scores(det, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The contract of a fitted time-series detector: one finite score per step of ``test``, training scores
    for every step of ``train``, 0/1 labels. Returns the test scores."""
    scores = det.decision_function(test)
    assert scores.shape == (len(test),) and np.isfinite(scores).all()
    assert det.decision_scores_.shape == (len(train),)
    assert set(np.unique(det.predict(test))) <= {0, 1}
    return scores


def check_reproducible_and_saved(name: str, params: dict, fitted, train: np.ndarray, test: np.ndarray,
                                 folder: Path) -> None:
    """A refit with the same seed gives the same scores, ``clone`` keeps the parameters, and the model saved
    to ``folder`` and loaded back scores as before."""
    again = genad.create(name, random_state=0, **params).fit(train)
    np.testing.assert_array_equal(fitted.decision_function(test), again.decision_function(test))
    assert clone(fitted).get_params() == fitted.get_params()
    fitted.save(folder / "m.genad")
    np.testing.assert_allclose(genad.load(folder / "m.genad").decision_function(test),
                               fitted.decision_function(test), rtol=1e-6)
