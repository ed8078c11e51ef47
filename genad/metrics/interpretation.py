"""How well a detector's per-channel explanation names the channels behind each anomaly.

SMD and ASD come with *interpretation labels*: for each anomalous segment, the channels that explain it.
OmniAnomaly (Su et al., KDD 2019) scores an explanation by **HitRate@P%**: rank the channels of an
anomalous time step by their contribution to its score, take the top ``floor(P% x |G|)`` (``G``: the
labelled channels), and count the share of ``G`` found there. TranAD's evaluation (Tuli et al., VLDB
2022; ``src/diagnosis.py`` of its code) adds **NDCG@P%** with the same cut-off. Both are averaged over
every labelled anomalous time step, as that code averages them, so they need no threshold; OmniAnomaly
and InterFusion average over the steps a threshold detected, which ``steps=`` selects. InterFusion's
segment-wise score (:func:`interpretation_performance_score`) ranks the channels once per labelled segment
instead.

Ties (equal contributions, e.g. channels clipped at the same value) are scored by their expectation
under a random order: at the cut-off, a tied group adds its share of relevant channels in proportion to
the places left; for NDCG each position of a tied group gets the group's mean relevance, as
scikit-learn's ``ndcg_score`` does. A random ranking therefore scores ``floor(P% x |G|) / D`` HitRate
(see :func:`random_hit_rate`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from genad.validation import as_labels, to_numeric_array

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


def _ranked_gains(contribution: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """The expected relevance (0..1) at each rank of one step's channels, best-blamed first, ties averaged."""
    gains = np.empty(contribution.size)
    position = 0
    for group in _tie_groups(contribution):
        gains[position:position + group.size] = relevant[group].mean()
        position += group.size
    return gains


def _check_channels(channels: Any) -> np.ndarray:
    """0/1 ``(T, D)`` channel labels as booleans, with at least one labelled channel."""
    if channels is None:
        raise TypeError("channels are missing (got None); pass a (T, D) 0/1 array")
    labels = to_numeric_array(channels, "channels")
    if labels.ndim != 2:
        raise ValueError(f"channels must be 2-D (time steps, channels), got shape {labels.shape}")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError(f"channels must hold 0 and 1 only (1 = the channel explains the step), got values "
                         f"{np.unique(labels)[:10]}")
    labels = labels.astype(bool)
    if not labels.any():
        raise ValueError("channels label no channel at any time step; there is nothing to explain")
    return labels


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
    return values, _check_channels(labels)


_NO_STEPS_LEFT = "steps leaves out every labelled time step; there is nothing to explain"


def _step_mask(steps: Any, n_steps: int) -> np.ndarray:
    """The optional 0/1 ``steps`` mask as booleans; every step when it is None."""
    return np.ones(n_steps, dtype=bool) if steps is None else as_labels(steps, n_steps, name="steps") == 1


def interpretation_scores(contributions: Any, channels: Any, steps: Any = None,
                          percents: tuple = PERCENTS) -> dict[str, float]:
    """Mean HitRate@P% and NDCG@P% over the time steps that have labelled channels.

    Parameters
    ----------
    contributions : ``(T, D)`` per-channel contributions to each step's score (higher = more to blame),
        e.g. a detector's ``explain(X)``.
    channels : ``(T, D)`` 0/1, 1 where the channel explains the (anomalous) step; steps without any are
        skipped.
    steps : optional 0/1 ``(T,)`` mask of the steps to use, e.g. those a detector flagged, as OmniAnomaly's
        authors count HitRate on the anomalies their threshold detected; by default every labelled step.
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
    n_channels = labels.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, n_channels + 2))  # NDCG's discount at ranks 1..D
    hits = {percent: [] for percent in percents}
    ndcgs = {percent: [] for percent in percents}
    for t in np.flatnonzero(labels.any(axis=1) & _step_mask(steps, len(labels))):
        gains, n_relevant = _ranked_gains(values[t], labels[t]), int(labels[t].sum())
        for percent in percents:
            k = _cutoff(n_relevant, n_channels, percent)
            hits[percent].append(gains[:k].sum() / n_relevant)
            ndcgs[percent].append((gains[:k] * discounts[:k]).sum() / discounts[:min(k, n_relevant)].sum())
    if not hits[percents[0]]:
        raise ValueError(_NO_STEPS_LEFT)
    out: dict[str, float] = {}
    for percent in percents:
        out[f"hit@{percent:g}"] = float(np.mean(hits[percent]))
        out[f"ndcg@{percent:g}"] = float(np.mean(ndcgs[percent]))
    return out


def _labelled_segments(labels: np.ndarray) -> list[np.ndarray]:
    """The time steps of each labelled segment: a run of consecutive steps with the same labelled channels."""
    steps = np.flatnonzero(labels.any(axis=1))
    new_segment = (np.diff(steps) != 1) | (labels[steps[1:]] != labels[steps[:-1]]).any(axis=1)
    return np.split(steps, np.flatnonzero(new_segment) + 1)


def interpretation_performance_score(contributions: Any, channels: Any, steps: Any = None,
                                     percents: tuple = PERCENTS) -> dict[str, float]:
    """InterFusion's segment-wise HitRate@P% (its "IPS"): one ranking per labelled segment.

    Within each labelled segment, each channel's contribution is its largest over the segment's steps (the
    authors take each channel's lowest log-probability), the channels are ranked once by it, and the
    segment's HitRate@P% counts once per step it spans, as the authors' ``itv_min_weight`` keeps one copy per
    step. A channel that stands out at the segment's worst moment is therefore credited, even where the
    step-wise HitRate of :func:`interpretation_scores` misses it on the segment's quieter steps.

    Parameters
    ----------
    contributions, channels : as :func:`interpretation_scores`.
    steps : optional 0/1 ``(T,)`` mask of the steps to use. The authors use the labelled steps their detector
        flagged at its best threshold; by default every labelled step counts (no threshold, as the step-wise
        scores here), so that rankings without a detector compare on the same steps.
    percents : the cut-offs, as percentages of each segment's number of labelled channels.

    Returns
    -------
    ``{"ips@100": ..., "ips@150": ...}`` (one per percent).

    References
    ----------
    Li, Z. et al. "Multivariate Time Series Anomaly Detection and Interpretation using Hierarchical
    Inter-Metric and Temporal Embedding". KDD 2021 (InterFusion; ``algorithm/cal_IPS.py`` of its code).
    """
    values, labels = check_interpretation_inputs(contributions, channels)
    used = _step_mask(steps, len(labels))
    hits = {percent: [] for percent in percents}
    weights = []
    for segment in _labelled_segments(labels):
        segment = segment[used[segment]]
        if segment.size == 0:
            continue
        relevant = labels[segment[0]]
        gains, n_relevant = _ranked_gains(values[segment].max(axis=0), relevant), int(relevant.sum())
        for percent in percents:
            hits[percent].append(gains[:_cutoff(n_relevant, labels.shape[1], percent)].sum() / n_relevant)
        weights.append(segment.size)
    if not weights:
        raise ValueError(_NO_STEPS_LEFT)
    return {f"ips@{percent:g}": float(np.average(hits[percent], weights=weights)) for percent in percents}


def random_hit_rate(channels: Any, percents: tuple = PERCENTS) -> dict[str, float]:
    """The HitRate@P% a ranking in random order would score in expectation: ``floor(P% x |G|) / D`` per step."""
    labels = _check_channels(channels)
    steps = labels[labels.any(axis=1)]
    n_channels = labels.shape[1]
    return {f"hit@{percent:g}": float(np.mean([_cutoff(int(row.sum()), n_channels, percent) / n_channels
                                               for row in steps])) for percent in percents}
