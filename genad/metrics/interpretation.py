"""How well a detector's per-channel explanation names the channels behind each anomaly.

SMD and ASD come with *interpretation labels*: for each anomalous segment, the channels that explain it.
OmniAnomaly (Su et al., KDD 2019) scores an explanation by **HitRate@P%**: rank the channels of an
anomalous time step by their contribution to its score, take the top ``floor(P% x |G|)`` (``G``: the
labelled channels), and count the share of ``G`` found there. TranAD's evaluation (Tuli et al., VLDB
2022; ``src/diagnosis.py`` of its code) adds **NDCG@P%** with the same cut-off. Both are averaged over
every labelled anomalous time step, as that code averages them, so they need no threshold (OmniAnomaly
and InterFusion average over the steps a threshold detected).

Ties (equal contributions, e.g. channels clipped at the same value) are scored by their expectation
under a random order: at the cut-off, a tied group adds its share of relevant channels in proportion to
the places left; for NDCG each position of a tied group gets the group's mean relevance, as
scikit-learn's ``ndcg_score`` does. A random ranking therefore scores ``floor(P% x |G|) / D`` HitRate
(see :func:`random_hit_rate`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from genad.validation import to_numeric_array

#: The cut-offs the papers report, as percentages of the number of labelled channels.
PERCENTS = (100, 150)


def _cutoff(n_relevant: int, n_channels: int, percent: float) -> int:
    """OmniAnomaly's ``floor(P% x |G|)``, at least one place and at most every channel."""
    return int(min(max(np.floor(percent / 100.0 * n_relevant), 1), n_channels))


def _tie_groups(values: np.ndarray) -> list[np.ndarray]:
    """Indices of ``values`` grouped by equal value, from the largest value down."""
    order = np.argsort(-values, kind="stable")
    sorted_values = values[order]
    breaks = np.flatnonzero(np.diff(sorted_values)) + 1
    return np.split(order, breaks)


def _step_scores(contribution: np.ndarray, relevant: np.ndarray, percent: float) -> tuple[float, float]:
    """HitRate and NDCG at ``percent`` for one time step's channel contributions and relevant channels."""
    n_relevant = int(relevant.sum())
    k = _cutoff(n_relevant, contribution.size, percent)
    gains = np.empty(contribution.size)  # expected relevance at each rank, ties averaged
    position = 0
    for group in _tie_groups(contribution):
        gains[position:position + group.size] = relevant[group].mean()
        position += group.size
    hits = gains[:k].sum()
    discounts = 1.0 / np.log2(np.arange(2, contribution.size + 2))
    ideal = discounts[:min(k, n_relevant)].sum()
    return float(hits / n_relevant), float((gains[:k] * discounts[:k]).sum() / ideal)


def check_interpretation_inputs(contributions: Any, channels: Any) -> tuple[np.ndarray, np.ndarray]:
    """Finite ``(T, D)`` contributions and 0/1 ``(T, D)`` channel labels with at least one labelled step."""
    if contributions is None or channels is None:
        raise TypeError("contributions and channels are both needed: (T, D) arrays")
    values = to_numeric_array(contributions, "contributions").astype(np.float64, copy=False)
    labels = to_numeric_array(channels, "channels")
    if values.ndim != 2 or labels.ndim != 2:
        raise ValueError(f"contributions and channels must be 2-D (time steps, channels), got shapes "
                         f"{values.shape} and {labels.shape}")
    if values.shape != labels.shape:
        raise ValueError(f"contributions have shape {values.shape} but channels {labels.shape}; they must "
                         "describe the same time steps and channels")
    if not np.isfinite(values).all():
        raise ValueError(f"contributions contain {int((~np.isfinite(values)).sum())} NaN or infinite value(s)")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"channels must hold 0 and 1 only (1 = the channel explains the step), got values "
                         f"{np.unique(labels)[:10]}")
    labels = labels.astype(bool)
    if not labels.any():
        raise ValueError("channels label no channel at any time step; there is nothing to explain")
    return values, labels


def interpretation_scores(contributions: Any, channels: Any, percents: tuple = PERCENTS) -> dict[str, float]:
    """Mean HitRate@P% and NDCG@P% over the time steps that have labelled channels.

    Parameters
    ----------
    contributions : ``(T, D)`` per-channel contributions to each step's score (higher = more to blame),
        e.g. a detector's ``explain(X)``.
    channels : ``(T, D)`` 0/1, 1 where the channel explains the (anomalous) step; steps without any are
        skipped.
    percents : the cut-offs, as percentages of each step's number of labelled channels.

    Returns
    -------
    ``{"hit@100": ..., "ndcg@100": ..., "hit@150": ..., "ndcg@150": ...}`` (one pair per percent).

    References
    ----------
    Su, Y. et al. "Robust Anomaly Detection for Multivariate Time Series through Stochastic Recurrent Neural
    Network". KDD 2019 (HitRate@P%). Tuli, S., Casale, G. and Jennings, N. R. "TranAD: Deep Transformer
    Networks for Anomaly Detection in Multivariate Time Series Data". VLDB 2022 (NDCG@P%).
    """
    values, labels = check_interpretation_inputs(contributions, channels)
    steps = np.flatnonzero(labels.any(axis=1))
    out: dict[str, float] = {}
    for percent in percents:
        pairs = np.array([_step_scores(values[t], labels[t], percent) for t in steps])
        out[f"hit@{percent:g}"], out[f"ndcg@{percent:g}"] = (float(x) for x in pairs.mean(axis=0))
    return out


def random_hit_rate(channels: Any, percents: tuple = PERCENTS) -> dict[str, float]:
    """The HitRate@P% a ranking in random order would score in expectation: ``floor(P% x |G|) / D`` per step."""
    _, labels = check_interpretation_inputs(np.zeros(np.shape(channels)), channels)
    steps = labels[labels.any(axis=1)]
    n_channels = labels.shape[1]
    return {f"hit@{percent:g}": float(np.mean([_cutoff(int(row.sum()), n_channels, percent) / n_channels
                                               for row in steps])) for percent in percents}
