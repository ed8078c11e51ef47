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

``state_dict()`` / ``load_state_dict()`` capture everything needed to resume a stream;
:mod:`genad.streaming.checkpoint` writes them atomically.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from genad.base import BaseDetector, hyperparameters
from genad.validation import as_2d_float, check_int

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
    def warm_up(self, X: Any) -> "StreamDetector":
        """Build the initial state from ``X`` (e.g. rows known to be normal); resets the stream."""
        self._check_params()
        X = as_2d_float(X, min_rows=self._warm_up_rows())
        self._reset(X.shape[1])
        self._warm_up(X)
        self.warmed_up_ = True
        return self

    def process(self, X: Any) -> np.ndarray:
        """Score records in arrival order, learning from each after scoring it.

        Returns the scores that became final in this call, in arrival order: one per record once
        the detector is warmed up (records buffered for the warm-up get theirs when it completes).
        A rejected input (wrong feature count, NaN, text) raises and leaves the state unchanged.
        """
        X = self._validate_records(X)
        if not getattr(self, "warmed_up_", False):
            return self._fill_warm_up(X)
        self.n_seen_ += X.shape[0]
        return self._stream(X)

    def learn_one(self, x: Any) -> "StreamDetector":
        """Learn from one record (its score is computed and dropped, as in ``process``)."""
        self.process(self._one_record(x))
        return self

    def score_one(self, x: Any) -> float:
        """The score of one record against the current state, which is left unchanged."""
        self._require_warm()
        return float(self.decision_function(self._one_record(x))[0])

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume this stream, as plain arrays, numbers and tensors."""
        self._require_started()
        return {
            "format": STATE_FORMAT, "format_version": STATE_FORMAT_VERSION,
            "model": self.registry_name, "params": self.get_params(),
            "n_features": self.n_features_in_, "n_seen": self.n_seen_, "n_scored": self.n_scored_,
            "warmed_up": self.warmed_up_, "buffer": self.buffer_.copy(),
            "model_state": self._get_state() if self.warmed_up_ else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> "StreamDetector":
        """Resume from :meth:`state_dict`; a state of another model, version or setting is rejected."""
        self._check_state(state)
        self._reset(int(state["n_features"]))
        self.n_seen_, self.n_scored_ = int(state["n_seen"]), int(state["n_scored"])
        self.buffer_ = np.asarray(state["buffer"], dtype=np.float32).copy()
        self.warmed_up_ = bool(state["warmed_up"])
        if self.warmed_up_:
            self._set_state(state["model_state"])
        return self

    def state_nbytes(self) -> int:
        """Bytes held by the stream state (constant once warmed up: memory does not grow)."""
        return _nbytes(self.state_dict())

    # --- BaseDetector hooks: fit = warm up, score = no learning ---------------------------------
    def _fit(self, X: np.ndarray, y: np.ndarray | None) -> None:
        if X.shape[0] < self._warm_up_rows():
            raise ValueError(f"{self.registry_name} needs at least {self._warm_up_rows()} rows to warm up, "
                             f"got {X.shape[0]}")
        self._reset(X.shape[1])
        self._warm_up(X)
        self.warmed_up_ = True

    # --- shared machinery ----------------------------------------------------------------------
    def _warm_up_rows(self) -> int:
        return max(int(self.warm_up_size), self.min_fit_rows)

    def _reset(self, n_features: int) -> None:
        self.n_features_in_ = n_features
        self.n_seen_, self.n_scored_ = 0, 0
        self.buffer_ = np.empty((0, n_features), dtype=np.float32)
        self.warmed_up_ = False

    def _validate_records(self, X: Any) -> np.ndarray:
        if not hasattr(self, "n_features_in_"):
            self._check_params()
            X = as_2d_float(X, name="records")
            self._reset(X.shape[1])
            return X
        return as_2d_float(X, name="records", n_features=self.n_features_in_)

    def _one_record(self, x: Any) -> np.ndarray:
        if isinstance(x, dict):
            x = list(x.values())
        arr = np.asarray(x) if not hasattr(x, "to_numpy") else x.to_numpy()
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2 or arr.shape[0] != 1:
            raise ValueError(f"expected one record (a 1-D sequence of features), got shape {arr.shape}")
        return arr

    def _fill_warm_up(self, X: np.ndarray) -> np.ndarray:
        need = self._warm_up_rows() - self.buffer_.shape[0]
        self.n_seen_ += X.shape[0]
        self.buffer_ = np.concatenate([self.buffer_, X[:need]])
        if self.buffer_.shape[0] < self._warm_up_rows():
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
            scores.append(chunk_scores)
            start += chunk_scores.size
            self.n_scored_ += chunk_scores.size
        out = np.concatenate(scores) if scores else np.empty(0)
        if not np.isfinite(out).all():
            raise FloatingPointError(f"{self.registry_name} produced non-finite scores on the stream")
        return out

    def _require_started(self) -> None:
        check_is_fitted(self, "n_features_in_", msg=f"{self.registry_name} has not seen any record yet")

    def _require_warm(self) -> None:
        if not getattr(self, "warmed_up_", False):
            raise ValueError(f"{self.registry_name} is not warmed up: call warm_up(X) or stream at least "
                             f"{self._warm_up_rows()} records first")

    def _check_state(self, state: Any) -> None:
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ValueError("not a genad stream state")
        if state.get("format_version") != STATE_FORMAT_VERSION:
            raise ValueError(f"stream state format {state.get('format_version')}, this genad reads "
                             f"format {STATE_FORMAT_VERSION}")
        if state.get("model") != self.registry_name:
            raise ValueError(f"this state belongs to model {state.get('model')!r}, not {self.registry_name!r}")
        if state.get("params") != self.get_params():
            diff = sorted(k for k in {**state["params"], **self.get_params()}
                          if state["params"].get(k) != self.get_params().get(k))
            raise ValueError(f"this state was made with other {self.registry_name} settings ({', '.join(diff)})")
        check_int("n_features", state.get("n_features"), low=1)

    def _moved_to_cpu(self) -> None:
        """Stream models keep their state on the CPU already."""


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
