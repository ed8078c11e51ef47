"""Labelled anomalies injected into time series, by the taxonomy of Lai et al. (NeurIPS 2021).

Point anomalies: *global* (a value far from the whole series: ``mean ± strength * std``) and
*contextual* (a value far from its neighbourhood ``x[t-k:t+k]``, ``mean ± strength * std`` of the
neighbourhood, kept inside the series' range so that it is no global outlier). Pattern anomalies over a
segment: *shapelet* (the segment's shape replaced by another basic shape, two cycles of it, with the same
level and amplitude), *seasonal* (the segment, taken as one period of its pattern, played at ``strength``
times its frequency) and *trend* (a linear drift reaching ``strength`` standard deviations at the
segment's end). Each anomaly hits one random channel among those that vary (a constant channel would
be left unchanged under its label); segments never overlap; every call is seeded.

The sizes follow the paper's definitions (a point more than a multiple of the standard deviation of the
whole series, or of its context, away from it; a segment whose shape, frequency or trend changes). The
authors' synthetic scripts (``benchmark/synthetic/Generator`` in datamllab/tods) instead re-generate a known
sine at another frequency and scale a point's own value by the local std; genad, which knows no generating
function, resamples the segment and measures offsets from the mean. As there, a contextual point stays
inside the series' range and the default seasonal factor is 3 (their context is 5 steps each side, genad's
default ``context`` 25). The paper's trend outlier shifts the mean for good (the script adds the drift to
every later step, unlabelled): ``persist=True`` does that. By default genad changes only the labelled
segment and the series returns to its own level at the next step, so that the steps outside the labels are
the input's, as a detector fitted on clean data expects of held-out data.

References
----------
Lai, K.-H., Zha, D., Xu, J., Zhao, Y., Wang, G. and Hu, X. "Revisiting Time Series Outlier Detection:
Definitions and Benchmarks". NeurIPS 2021 Datasets and Benchmarks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from genad.validation import FLOAT32_MAX, check_choice, check_float, check_int, to_numeric_array

TIMESERIES_ANOMALY_TYPES = ("global", "contextual", "shapelet", "seasonal", "trend")
_DEFAULT_STRENGTH = {"global": 4.0, "contextual": 3.0, "shapelet": 1.0, "seasonal": 3.0, "trend": 3.0}


def _as_series(X: Any) -> tuple[np.ndarray, bool]:
    """A float64 copy of ``X`` as ``(T, D)`` and whether it was 1-D; the door's type, shape and value checks."""
    if isinstance(X, (str, bytes, Path)):
        raise TypeError(f"X must be a (T,) or (T, D) numeric series, got {X!r}; read a file into an array first")
    values = np.array(to_numeric_array(X, "X"), dtype=np.float64, copy=True)
    was_1d = values.ndim == 1
    if was_1d:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(f"a series must be 1-D (T,) or 2-D (T, D), got shape {values.shape}")
    if values.shape[1] == 0:
        raise ValueError(f"the series has no channels (shape {values.shape})")
    if not np.isfinite(values).all():
        raise ValueError("the series contains NaN or infinite values; fill them first")
    if values.size and np.abs(values).max() > FLOAT32_MAX:
        raise ValueError(f"the series has values up to {np.abs(values).max():.3g} in magnitude, beyond the float32 "
                         f"range (±{FLOAT32_MAX:.3g}) genad works in; rescale it")
    return values, was_1d


def _segment_starts(n_steps: int, n: int, length: int, rng: np.random.Generator, why: str = "") -> np.ndarray:
    """``n`` non-overlapping segment starts (with a gap of ``length`` between segments)."""
    slots = (n_steps - length) // (2 * length) + 1
    if n > slots or n_steps < length:
        raise ValueError(f"cannot place {n} non-overlapping anomalies of length {length}{why} in {n_steps} steps "
                         f"(at most {slots} fit)")
    chosen = np.sort(rng.choice(slots, size=n, replace=False))
    return chosen * 2 * length + rng.integers(0, length, size=n).clip(max=n_steps - length - chosen * 2 * length)


def _shape(kind: int, length: int) -> np.ndarray:
    """A basic shape on [0, 1) with zero mean and unit std: square, sawtooth or triangle wave."""
    phase = np.linspace(0, 2, length, endpoint=False) % 1
    shape = [np.where(phase < 0.5, 1.0, -1.0), 2 * phase - 1, 1 - 4 * np.abs(phase - 0.5)][kind]
    shape = shape - shape.mean()
    return shape / (shape.std() + 1e-12)


# The seasonal replay starts this fraction of a step into the segment's pattern. With no offset its
# first step (and, for integer strengths, every step t with (strength - 1) * t a multiple of the length)
# would sample its own value and stay unchanged under its label; an irrational offset puts no position
# on the sampling grid for any rational strength.
_SEASONAL_PHASE = (5 ** 0.5 - 1) / 2


def _replay(segment: np.ndarray, strength: float) -> np.ndarray:
    """The segment's pattern played at ``strength`` times its frequency (periodically, from the phase offset)."""
    length = segment.size
    positions = np.arange(length) * strength + _SEASONAL_PHASE
    return np.interp(positions, np.arange(length), segment, period=length)


def _point_value(centre: float, offset: float, sign: float, own: float,
                 low: float = -np.inf, high: float = np.inf) -> float:
    """``centre + sign * offset``, or the other side when that lands on the step's own value ``own`` or
    outside ``[low, high]``; when neither side fits, the drawn side clipped into the range."""
    for value in (centre + sign * offset, centre - sign * offset):
        if low <= value <= high and value != own:
            return value
    value = min(max(centre + sign * offset, low), high)
    return value if value != own else min(max(centre - sign * offset, low), high)


def _inject_one(x: np.ndarray, original: np.ndarray, kind: str, start: int, length: int, strength: float,
                context: int, rng: np.random.Generator) -> None:
    """Inject one anomaly into channel ``x`` (in place); statistics come from the ``original`` channel."""
    sign = rng.choice([-1.0, 1.0])
    if kind == "global":
        x[start] = _point_value(original.mean(), strength * original.std(), sign, original[start])
    elif kind == "contextual":
        around = np.r_[original[max(start - context, 0):start], original[start + 1:start + 1 + context]]
        offset = strength * max(around.std(), 1e-3 * original.std())
        # inside the series' range, as in the authors' script: beyond it the point would be a global outlier
        x[start] = _point_value(around.mean(), offset, sign, original[start], original.min(), original.max())
    else:
        segment = original[start:start + length].copy()
        level, spread = segment.mean(), max(segment.std(), 0.1 * original.std())
        if kind == "shapelet":
            x[start:start + length] = level + strength * spread * _shape(int(rng.integers(0, 3)), length)
        elif kind == "seasonal":
            x[start:start + length] = _replay(segment, strength)
        else:  # trend: the drift grows by equal steps from the first step (which a ramp from 0 would leave as is)
            ramp = np.arange(1, length + 1) / length
            x[start:start + length] = segment + sign * strength * original.std() * ramp


def _varying(values: np.ndarray) -> np.ndarray:
    """Indices of the channels of ``(T, D)`` values that are not constant."""
    return np.flatnonzero(np.ptp(values, axis=0) > 0)


def _seasonal_channels(original: np.ndarray, start: int, length: int, strength: float) -> np.ndarray:
    """Channels where a seasonal replay of the segment changes every step, else those where it changes
    some (flat stretches replay as themselves); a clear error when it changes nothing on any channel."""
    segments = original[start:start + length]
    changed = np.column_stack([_replay(segments[:, c], strength) != segments[:, c]
                               for c in range(segments.shape[1])])
    for eligible in (changed.all(axis=0), changed.any(axis=0)):
        if eligible.any():
            return np.flatnonzero(eligible)
    raise ValueError(f"a seasonal anomaly at steps {start}..{start + length - 1} would change nothing: no channel "
                     "varies there, and a seasonal anomaly replays its segment's own pattern faster (another "
                     "seed places it elsewhere)")


def _check_changed(new: np.ndarray, old: np.ndarray, kind: str, start: int, channel: int) -> None:
    """An anomaly that leaves its steps as they were must not be labelled: a clear error instead."""
    if (new != old).any():
        return
    raise ValueError(f"the {kind} anomaly at step {start} on channel {channel} would leave the series unchanged "
                     f"(its change is below the float64 resolution of values up to {np.abs(old).max():.3g}); "
                     "center or rescale the channel, or raise strength")


def inject_anomalies(X: Any, kind: str, n: int = 1, *, length: int = 50, strength: float | None = None,
                     context: int = 25, persist: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inject ``n`` labelled anomalies of type ``kind`` into a ``(T,)`` or ``(T, D)`` series.

    Parameters
    ----------
    X : the series: a real numeric array, nested list, DataFrame or tensor, finite and inside float32's
        range (a path is refused: read the file first).
    kind : ``"global"``, ``"contextual"``, ``"shapelet"``, ``"seasonal"`` or ``"trend"``.
    length : steps of a pattern anomaly (point anomalies take one step).
    strength : global/contextual: standard deviations (of the series / of the neighbourhood) from the mean,
        a contextual point capped at the series' range; shapelet: amplitude relative to the segment's;
        seasonal: frequency factor (not 1, nor 1 plus a multiple of ``length``, which replay the segment
        at its own frequency); trend: drift at the segment's end in series std.
    context : half-width of the neighbourhood of a contextual anomaly.
    persist : trend only: every step after a trend segment keeps the drift it reached (the paper's permanent
        shift of the mean); those steps stay unlabelled, as in the authors' script. Off by default.
    seed : the same seed gives the same anomalies.

    Returns
    -------
    The new series (same shape, float64) and 0/1 labels per step (1 = injected). A point anomaly always
    changes its step. A pattern anomaly changes every step of its segment, except where the original
    happens to coincide with the new pattern (values the data repeat, or a seasonal replay of a partly
    flat stretch when no channel varies over the whole segment); its label covers the segment. Steps
    outside the labels keep their values, unless ``persist`` carries a trend's drift on (see the module notes).

    Raises
    ------
    TypeError : ``X`` is not a real numeric series (a path, text, ragged lists, complex numbers), or a
        parameter has the wrong type.
    ValueError : a bad value: NaN in ``X``, values or anomalies beyond float32's range, no room for ``n``
        non-overlapping anomalies, a non-positive size or strength, a seasonal strength that changes
        nothing, a series with no varying channel (or a seasonal segment with none).
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, one of {TIMESERIES_ANOMALY_TYPES}; got {kind!r}")
    check_choice("kind", kind, TIMESERIES_ANOMALY_TYPES)
    check_int("n", n, low=1)
    check_int("length", length, low=2)
    check_int("context", context, low=1)
    check_int("seed", seed, low=0)
    if not isinstance(persist, (bool, np.bool_)):
        raise TypeError(f"persist must be True or False, got {persist!r}")
    if persist and kind != "trend":
        raise ValueError(f"persist=True carries a trend's drift past its segment; a {kind} anomaly has no drift")
    strength = _DEFAULT_STRENGTH[kind] if strength is None else strength
    check_float("strength", strength, 0.0, low_closed=False)
    if kind == "seasonal" and (strength - 1) % length == 0:
        raise ValueError(f"a seasonal strength of {strength!r} replays each segment of length {length} at its own "
                         "frequency (as 1 plus any multiple of length does), which is no seasonal anomaly; pass "
                         "another frequency factor")
    values, was_1d = _as_series(X)
    rng = np.random.default_rng(seed)
    span = 1 if kind in ("global", "contextual") else length
    need, why = (2 * context + 1, " (2 * context + 1)") if kind == "contextual" else (span, "")
    starts = _segment_starts(values.shape[0], n, need, rng, why)
    labels = np.zeros(values.shape[0], dtype=np.int64)
    original = values.copy()
    drifts = []  # persist: (channel, end of segment, drift reached) of each trend
    varying = _varying(original)  # a constant channel would keep its values under the labels
    if varying.size == 0:
        why = "replay a segment's own pattern faster" if kind == "seasonal" else "are sized by a channel's spread"
        raise ValueError(f"every channel of the series is constant; {kind} anomalies {why}, so they need a "
                         "channel that varies")
    with np.errstate(over="ignore", invalid="ignore"):  # a huge strength overflows: named just below
        for start in starts:
            if kind == "contextual":
                start = start + context  # keep a full neighbourhood on both sides
            eligible = _seasonal_channels(original, int(start), span, strength) if kind == "seasonal" else varying
            channel = int(eligible[rng.integers(0, eligible.size)])  # the draw of old when every channel varies
            column = values[:, channel].copy()
            _inject_one(column, original[:, channel], kind, int(start), span, strength, context, rng)
            _check_changed(column[start:start + span], original[start:start + span, channel], kind, int(start),
                           channel)
            values[:, channel] = column
            labels[start:start + span] = 1
            if persist:  # the drift reached at the segment's last step
                end = int(start) + span
                drifts.append((channel, end, column[end - 1] - original[end - 1, channel]))
        # added once every segment is placed, so that a later trend starts from the level already reached
        for channel, end, drift in drifts:
            values[end:, channel] += drift
    _check_in_range(values, original, kind, strength)
    return (values[:, 0] if was_1d else values), labels


def _check_in_range(values: np.ndarray, original: np.ndarray, kind: str, strength: float) -> None:
    """Extreme but finite inputs can still overflow: name the strength and the series' scale."""
    if not (np.abs(values) <= FLOAT32_MAX).all():  # NaN fails the comparison too
        raise ValueError(f"{kind} anomalies with strength={strength!r} on a series of scale "
                         f"{np.abs(original).max():.3g} (largest |value|) fall outside the float32 range "
                         f"(±{FLOAT32_MAX:.3g}); lower strength or rescale the series")
