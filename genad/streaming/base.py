"""The stream API every streaming detector follows (after river's ``learn_one`` / ``score_one``).

A stream detector first *warms up* on an initial window (``warm_up(X)`` with rows the user vouches
for, or automatically on the first ``warm_up_size`` records of the stream), then processes records
in arrival order: each record is scored against the current state and only then learned from
(prequential order). ``process(X)`` does this for many records at once and is exactly equal to
processing them one at a time: models score a chunk against a state that provably cannot change
within it, and stop the chunk at the first record that changes the state.

Records that arrive before the warm-up is complete are buffered; once the window is full the model
warms up on it and then streams the buffered records like any other (as MemStream's reference
does), so every record gets exactly one score, in arrival order.

Every call that changes the stream (``process``, ``learn_one``, ``warm_up``, ``load_state_dict``) is
all or nothing: when it raises, the detector is exactly as it was before the call.

Records may be dicts (river's convention): the first dict record fixes the feature names and their
order, later ones are reordered by name, and records that miss a name or bring an unknown one are
rejected.

``state_dict()`` / ``load_state_dict()`` capture everything needed to resume a stream;
:mod:`genad.streaming.checkpoint` writes them atomically.
"""
from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from genad.base import BaseDetector, all_or_nothing, hyperparameters
from genad.validation import as_2d_float, check_float, check_int

STATE_FORMAT = "genad-stream-state"
STATE_FORMAT_VERSION = 1

@hyperparameters
class StreamDetector(BaseDetector):
    """Base of the streaming detectors.

    Subclasses implement ``_warm_up(X)`` (learn the initial state from the warm-up rows),
    ``_process_chunk(X)`` (score at most ``max_chunk`` records in order from the current state, update the state exactly
    as one-at-a-time processing would, and return the scores of the leading records it finished;
    it may stop early, e.g. right after a record that changed the state), ``_score(X)`` (scores
    against the current state, no update), and ``_get_state()`` / ``_set_state(state)``.
    A failing call is undone by restoring the attributes as they were bound before it, so a step
    must *rebind* the state it changes (``self.mean_ = new_mean``, a retrained copy of a network)
    or write arrays in place only through ``_write_in_place``. ``_set_state`` checks every field
    it reads (``state_arrays``, ``state_int``, ``state_float``, ``load_weights``).

    ``fit(X)`` warms up on ``X`` and ``decision_function(X)`` scores rows against the current state
    without learning from them, so a stream detector is also a plain detector.

    Attributes
    ----------
    n_seen_ : records received so far (``process``/``learn_one``), warm-up buffer included.
    n_scored_ : records whose score has been returned.
    warmed_up_ : whether the initial state exists.
    """

    #: rows needed before the first score; subclasses tie it to a hyperparameter.
    warm_up_size = 1

    # --- what a stream model implements --------------------------------------------------------
    #: most records handed to one ``_process_chunk`` call: bounds the memory of one batched step
    max_chunk = 2048

    def _warm_up(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _process_chunk(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _get_state(self) -> dict[str, Any]:
        raise NotImplementedError

    def _set_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- the stream API ------------------------------------------------------------------------
    @all_or_nothing
    def warm_up(self, X: Any) -> "StreamDetector":
        """Build the initial state from ``X`` (e.g. rows known to be normal); resets the stream."""
        self._check_params()
        X = as_2d_float(X, min_rows=self.warm_up_rows())
        self._reset(X.shape[1])
        self._warm_up(X)
        self.warmed_up_ = True
        return self

    @all_or_nothing
    def process(self, X: Any) -> np.ndarray:
        """Score records in arrival order, learning from each after scoring it.

        Returns the scores that became final in this call, in arrival order: one per record once
        the detector is warmed up (records buffered for the warm-up get theirs when it completes).
        A rejected input (wrong feature count, NaN, text, a record whose score is not finite)
        raises and leaves the state unchanged: nothing of the call is learned.
        """
        X = self._validate_records(X)
        if not getattr(self, "warmed_up_", False):
            return self._fill_warm_up(X)
        self.n_seen_ += X.shape[0]
        return self._stream(X)

    def learn_one(self, x: Any) -> "StreamDetector":
        """Learn from one record (its score is computed and dropped, as in ``process``)."""
        record, keys = self._one_record(x)
        self.process(record)
        self._adopt_keys(keys)
        return self

    def score_one(self, x: Any) -> float:
        """The score of one record against the current state, which is left unchanged.

        The first dict record, scored or learned, fixes the feature names (see the module docstring).
        """
        self._require_warm()
        record, keys = self._one_record(x)
        score = float(self.decision_function(record)[0])
        self._adopt_keys(keys)
        return score

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this stream, as plain arrays, numbers and tensors."""
        self._require_started()
        keys = getattr(self, "feature_keys_", None)
        return {
            "format": STATE_FORMAT, "format_version": STATE_FORMAT_VERSION,
            "model": self.registry_name, "params": self.get_params(),
            "n_features": self.n_features_in_, "n_seen": self.n_seen_, "n_scored": self.n_scored_,
            "warmed_up": self.warmed_up_, "buffer": self.buffer_.copy(),
            "feature_keys": None if keys is None else list(keys),
            "model_state": self._get_state() if self.warmed_up_ else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> "StreamDetector":
        """Resume from :meth:`state_dict`.

        A state of another model, version or setting, or a damaged one (a field missing, of the
        wrong type or shape, out of range or inconsistent), raises ``ValueError`` and leaves the
        detector as it was.
        """
        self._check_state(state)
        try:
            self._load(state)
        except Exception as err:
            raise ValueError(f"not a valid {self.registry_name} stream state: {err}") from err
        return self

    def state_nbytes(self) -> int:
        """Bytes held by the stream state (constant once warmed up: memory does not grow)."""
        return _nbytes(self.state_dict())

    # --- BaseDetector hooks: fit = warm up, score = no learning ---------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        if X.shape[0] < self.warm_up_rows():
            raise ValueError(f"{self.registry_name} needs at least {self.warm_up_rows()} rows to warm up, "
                             f"got {X.shape[0]}")
        self._reset(X.shape[1])
        self._warm_up(X)
        self.warmed_up_ = True

    # --- shared machinery ----------------------------------------------------------------------
    def warm_up_rows(self) -> int:
        """How many records the model buffers before its warm-up (and before it scores any)."""
        return max(int(self.warm_up_size), self.min_fit_rows)

    def _reset(self, n_features: int) -> None:
        self.n_features_in_ = n_features
        self.n_seen_, self.n_scored_ = 0, 0
        self.buffer_ = np.empty((0, n_features), dtype=np.float32)
        self.warmed_up_ = False
        self.feature_keys_: tuple | None = None  # a new stream: the next dict record names the features

    def _validate_records(self, X: Any) -> np.ndarray:
        if not hasattr(self, "n_features_in_"):
            self._check_params()
            X = as_2d_float(X, name="records")
            self._reset(X.shape[1])
            return X
        return as_2d_float(X, name="records", n_features=self.n_features_in_)

    def _one_record(self, x: Any) -> tuple[np.ndarray, tuple | None]:
        """One record as a ``(1, n)`` array, and its keys when it is a dict that names the features first."""
        keys = None
        if isinstance(x, Mapping):
            x, keys = self._dict_values(x)
        arr = np.asarray(x) if not hasattr(x, "to_numpy") else x.to_numpy()
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[0] != 1:
            raise ValueError(f"expected one record (a 1-D sequence of features), got shape {arr.shape}")
        return arr, keys

    def _dict_values(self, x: Mapping) -> tuple[list, tuple | None]:
        """A dict record's values in the stream's feature order; its keys too when they fix that order."""
        keys = getattr(self, "feature_keys_", None)
        if keys is None:  # the first dict record: its order becomes the stream's (adopted once accepted)
            return list(x.values()), tuple(x)
        missing = [k for k in keys if k not in x]
        if missing or len(x) != len(keys):
            unknown = [k for k in x if k not in set(keys)]
            raise ValueError(f"record keys do not match the stream's features {list(keys)}: "
                             f"missing {missing}, unknown {unknown}")
        return [x[k] for k in keys], None

    def _adopt_keys(self, keys: tuple | None) -> None:
        """Fix the feature names after the first dict record was accepted (a rejected one fixes nothing)."""
        if keys is not None and getattr(self, "feature_keys_", None) is None:
            self.feature_keys_ = keys

    def _fill_warm_up(self, X: np.ndarray) -> np.ndarray:
        need = self.warm_up_rows() - self.buffer_.shape[0]
        self.n_seen_ += X.shape[0]
        self.buffer_ = np.concatenate([self.buffer_, X[:need]])
        if self.buffer_.shape[0] < self.warm_up_rows():
            return np.empty(0)
        self._warm_up(self.buffer_)
        self.warmed_up_ = True
        pending = np.concatenate([self.buffer_, X[need:]])
        self.buffer_ = self.buffer_[:0]
        return self._stream(pending)

    def _stream(self, X: np.ndarray) -> np.ndarray:
        scores, start = [], 0
        while start < X.shape[0]:
            chunk = X[start:start + self.max_chunk]
            chunk_scores = np.asarray(self._process_chunk(chunk), dtype=np.float64)
            if chunk_scores.size == 0:
                raise RuntimeError(f"{self.registry_name} made no progress on the stream")
            if not np.isfinite(chunk_scores).all():  # stop at once: the caller undoes the whole call
                raise FloatingPointError(f"{self.registry_name} produced a non-finite score (a record too extreme "
                                         "for the current state); nothing of this call was learned")
            scores.append(chunk_scores)
            start += chunk_scores.size
            self.n_scored_ += chunk_scores.size
        return np.concatenate(scores) if scores else np.empty(0)

    def _require_started(self) -> None:
        check_is_fitted(self, "n_features_in_", msg=f"{self.registry_name} has not seen any record yet")

    def _require_warm(self) -> None:
        if not getattr(self, "warmed_up_", False):
            raise ValueError(f"{self.registry_name} is not warmed up: call warm_up(X) or stream at least "
                             f"{self.warm_up_rows()} records first")

    def _check_state(self, state: Any) -> None:
        """Is ``state`` a stream state of this model, format and setting? (Its contents: :meth:`_load`.)"""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError("not a genad stream state")
        if state.get("format_version") != STATE_FORMAT_VERSION:
            raise ValueError(f"stream state format {state.get('format_version')}, this genad reads "
                             f"format {STATE_FORMAT_VERSION}")
        if state.get("model") != self.registry_name:
            raise ValueError(f"this state belongs to model {state.get('model')!r}, not {self.registry_name!r}")
        params, mine = state.get("params"), self.get_params()
        if not isinstance(params, dict):
            raise ValueError(f"this {self.registry_name} state does not record its settings (params: {params!r})")
        diff = sorted(str(k) for k in {**params, **mine} if _differs(params.get(k), mine.get(k)))
        if diff:
            raise ValueError(f"this state was made with other {self.registry_name} settings ({', '.join(diff)})")

    @all_or_nothing
    def _load(self, state: dict[str, Any]) -> None:
        """Check the stream's own fields, all before changing anything, then hand the model its part."""
        n = state_int(state, "n_features", low=1)
        n_seen = state_int(state, "n_seen", low=0)
        n_scored = state_int(state, "n_scored", low=0, high=n_seen)
        warmed_up = state_field(state, "warmed_up")
        if not isinstance(warmed_up, (bool, np.bool_)):
            raise ValueError(f"warmed_up must be True or False, got {warmed_up!r}")
        buffer = state_arrays(state, {"buffer": (np.float32, ("rows", n))})["buffer"]
        if warmed_up and len(buffer):
            raise ValueError(f"a warmed-up stream buffers no records, got {len(buffer)}")
        if not warmed_up and (len(buffer) != n_seen or n_scored or len(buffer) >= self.warm_up_rows()):
            raise ValueError(f"before the warm-up every record seen is buffered and none scored, with fewer than "
                             f"{self.warm_up_rows()}; got n_seen={n_seen}, n_scored={n_scored}, "
                             f"{len(buffer)} buffered")
        keys = _feature_keys(state.get("feature_keys"), n)  # absent from states written before genad named them
        model_state = state.get("model_state")
        if warmed_up and not isinstance(model_state, dict):
            raise ValueError(f"model_state must be a dict once warmed up, got {type(model_state).__name__}")
        self._reset(n)
        self.n_seen_, self.n_scored_, self.buffer_, self.feature_keys_ = n_seen, n_scored, buffer, keys
        self.warmed_up_ = bool(warmed_up)
        if self.warmed_up_:
            try:
                self._set_state(model_state)
            except Exception as err:
                raise ValueError(f"model_state: {err}") from err

    def _moved_to_cpu(self) -> None:
        """Stream models keep their state on the CPU already."""


# --- reading a state: each field checked by name before it is used (shared by the models) ---------
def state_field(state: Mapping, key: str) -> Any:
    """``state[key]``, or a ValueError naming the missing field."""
    if key not in state:
        raise ValueError(f"{key!r} is missing")
    return state[key]


def state_int(state: Mapping, key: str, low: int | None = None, high: int | None = None) -> int:
    """``state[key]`` checked as an integer in ``[low, high]``."""
    value = state_field(state, key)
    check_int(key, value, low=low, high=high)
    return int(value)


def state_float(state: Mapping, key: str, low: float | None = None) -> float:
    """``state[key]`` checked as a finite number of at least ``low``."""
    value = state_field(state, key)
    check_float(key, value, low=low)
    return float(value)


def state_arrays(state: Mapping, spec: dict[str, tuple[type, tuple]]) -> dict[str, np.ndarray]:
    """Copies of ``state``'s arrays, each checked against ``spec``: ``key -> (dtype, shape)``.

    A shape entry is a length, or a name that stands for the same length in every array where it
    appears (``("rows", 4)`` and ``("rows",)``: as many rows in both). Values must be finite. The
    dtype must be exactly the one the model writes, so a resumed stream computes as it would have.
    """
    sizes: dict[str, int] = {}
    out = {}
    for key, (dtype, shape) in spec.items():
        value = state_field(state, key)
        if not isinstance(value, np.ndarray) or value.dtype != dtype:
            got = f"a {value.dtype} array" if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(f"{key} must be a {np.dtype(dtype)} array, got {got}")
        expected = tuple(sizes.setdefault(d, n) if isinstance(d, str) else d
                         for d, n in zip(shape, value.shape)) if value.ndim == len(shape) else shape
        if value.shape != expected:
            raise ValueError(f"{key} has shape {value.shape}, expected {expected}")
        if not np.isfinite(value).all():
            raise ValueError(f"{key} holds NaN or infinite values")
        out[key] = value.copy()
    return out


def load_weights(module: torch.nn.Module, state: Mapping, key: str) -> None:
    """Load ``state[key]`` (a module's ``state_dict()``) into ``module``: names, shapes and finiteness checked."""
    weights = state_field(state, key)
    if not isinstance(weights, Mapping) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ValueError(f"{key} must be a dict of tensors (a module's state_dict), got {type(weights).__name__}")
    if not all(torch.isfinite(v).all() for v in weights.values()):
        raise ValueError(f"{key} holds NaN or infinite weights")
    mine = module.state_dict()
    if set(weights) != set(mine) or any((weights[k].shape, weights[k].dtype) != (v.shape, v.dtype)
                                        for k, v in mine.items()):
        layout = lambda d: {k: (tuple(v.shape), str(v.dtype)) for k, v in d.items()}  # noqa: E731
        raise ValueError(f"{key} does not fit the model: expected {layout(mine)}, got {layout(weights)}")
    module.load_state_dict(weights)


def _feature_keys(keys: Any, n_features: int) -> tuple | None:
    """The state's feature names: none yet, or one distinct hashable name per feature."""
    if keys is None:
        return None
    if not isinstance(keys, (list, tuple)) or len(keys) != n_features \
            or not all(isinstance(k, Hashable) for k in keys) or len(set(keys)) != len(keys):
        raise ValueError(f"feature_keys must be None or {n_features} distinct names, got {keys!r}")
    return tuple(keys)


def _differs(a: Any, b: Any) -> bool:
    """``a != b`` for setting values; values that cannot be compared count as different."""
    try:
        return bool(a != b)
    except Exception:
        return True


def _nbytes(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    if isinstance(value, np.ndarray):
        return value.nbytes
    if hasattr(value, "element_size") and hasattr(value, "nelement"):
        return value.element_size() * value.nelement()
    return 8
