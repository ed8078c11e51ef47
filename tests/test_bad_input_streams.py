"""Bad input to the stream API: damaged states, records that fail mid-stream, dict records with other keys.

Every rejected call must raise a clear ValueError/TypeError (or FloatingPointError for a score that
cannot be computed) and leave the detector exactly as it was; valid streams must be unaffected.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import genad
from genad.models.streaming import METER

FAST = {"memstream": {"memory_size": 16, "epochs": 2, "beta": 10.0},  # admits most records
        "meter": {"warm_up_size": 32, "epochs": 1, "update_epochs": 1, "hyper_hidden": 8, "window": 10,
                  "max_uncertain": 0}}
MODELS = sorted(FAST)
WEIGHTS = {"memstream": "encoder", "meter": "static_"}  # a network's weights in each model's state
WIDE = {"memstream": "mem_data", "meter": "window_x"}  # an (rows, n_features) array in each model's state


def make(name, **extra):
    return genad.create(name, random_state=0, **{**FAST[name], **extra})


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return rng.normal(size=(200, 4)).astype(np.float32)


@pytest.fixture(scope="module")
def states(X):
    """A state of each model after 100 records (memory updates / offline updates included)."""
    out = {}
    for name in MODELS:
        det = make(name)
        det.process(X[:100])
        assert det.n_updates_ > 0
        out[name] = det.state_dict()
    return out


def fail_with(error):
    def raise_it(*args, **kwargs):
        raise error
    return raise_it


def warm(name, X):
    det = make(name)
    det.process(X[:40])
    return det


def assert_same(a, b, path="state"):
    """Deep, exact equality of two states (arrays, tensors, numbers, lists)."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), path
    else:
        assert a == b, path


# --- 1. load_state_dict: checked before anything changes, and all or nothing ------------------------
def _set(path, value):
    def corrupt(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return corrupt


def _drop(path):
    def corrupt(state):
        target = state
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return corrupt


def _weights_of(name, change):
    def corrupt(state):
        weights = state["model_state"][WEIGHTS[name]]
        key = next(iter(weights))
        weights[key] = change(weights[key])
    return corrupt


CORRUPTIONS = {
    "n_seen text": lambda name: _set(["n_seen"], "abc"),
    "n_seen negative": lambda name: _set(["n_seen"], -5),
    "n_seen missing": lambda name: _drop(["n_seen"]),
    "n_scored missing": lambda name: _drop(["n_scored"]),
    "n_scored above n_seen": lambda name: _set(["n_scored"], 10**9),
    "n_features text": lambda name: _set(["n_features"], "4"),
    "n_features 3 for 4-feature weights": lambda name: lambda s: s.update(
        n_features=3, buffer=np.empty((0, 3), np.float32)),
    "warmed_up text": lambda name: _set(["warmed_up"], "no"),
    "buffer of another width": lambda name: _set(["buffer"], np.empty((0, 7), np.float32)),
    "buffer as a list": lambda name: _set(["buffer"], []),
    "rows buffered after warm-up": lambda name: _set(["buffer"], np.zeros((3, 4), np.float32)),
    "feature_keys of another length": lambda name: _set(["feature_keys"], ["a", "b"]),
    "feature_keys repeated": lambda name: _set(["feature_keys"], ["a", "a", "b", "c"]),
    "model_state missing": lambda name: _drop(["model_state"]),
    "model_state None": lambda name: _set(["model_state"], None),
    "model_state empty": lambda name: _set(["model_state"], {}),
    "weights missing": lambda name: _drop(["model_state", WEIGHTS[name]]),
    "weights None": lambda name: _set(["model_state", WEIGHTS[name]], None),
    "weights of another shape": lambda name: _weights_of(name, lambda w: torch.zeros(w.shape[0] + 1, *w.shape[1:])),
    "weights NaN": lambda name: _weights_of(name, lambda w: w * float("nan")),
    "n_updates missing": lambda name: _drop(["model_state", "n_updates"]),
    "n_updates negative": lambda name: _set(["model_state", "n_updates"], -1),
    "mean of another shape": lambda name: _set(["model_state", "mean"], np.zeros(3)),
    "mean as a list": lambda name: _set(["model_state", "mean"], [0.0, 0.0, 0.0, 0.0]),
    "mean float32": lambda name: _set(["model_state", "mean"], np.zeros(4, np.float32)),
    "mean NaN": lambda name: _set(["model_state", "mean"], np.full(4, np.nan)),
    "array of another width": lambda name: lambda s: s["model_state"].update(
        {WIDE[name]: np.zeros((len(s["model_state"][WIDE[name]]), 5), np.float32)}),
}


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("what", sorted(CORRUPTIONS))
def test_a_damaged_state_is_rejected_and_changes_nothing(name, what, X, states):
    state = copy.deepcopy(states[name])
    CORRUPTIONS[what](name)(state)
    det = warm(name, X)
    before, scores = copy.deepcopy(det.state_dict()), det.decision_function(X[100:110])
    with pytest.raises(ValueError, match=f"not a valid {name} stream state"):
        det.load_state_dict(state)
    assert_same(before, det.state_dict())
    np.testing.assert_array_equal(det.decision_function(X[100:110]), scores)


@pytest.mark.parametrize("name", MODELS)
def test_state_without_params_or_of_another_model_is_rejected(name, X, states):
    det = warm(name, X)
    before = copy.deepcopy(det.state_dict())
    for params in (None, "x"):
        with pytest.raises(ValueError, match="settings"):
            det.load_state_dict({**states[name], "params": params})
    with pytest.raises(ValueError, match="settings"):
        det.load_state_dict({**states[name], "params": {}})
    other = states["meter" if name == "memstream" else "memstream"]
    with pytest.raises(ValueError, match="belongs to model"):
        det.load_state_dict(other)
    assert_same(before, det.state_dict())


@pytest.mark.parametrize("name", MODELS)
def test_inconsistent_warm_up_buffer_is_rejected(name, X):
    det = make(name)
    det.process(X[:5])
    state = det.state_dict()
    make(name).load_state_dict(state)  # a buffered stream resumes
    for bad in ({"n_seen": 6}, {"n_scored": 5}, {"buffer": np.zeros((40, 4), np.float32), "n_seen": 40}):
        with pytest.raises(ValueError, match="before the warm-up"):
            make(name).load_state_dict({**state, **bad})


@pytest.mark.parametrize("name", MODELS)
def test_a_state_from_before_feature_names_still_loads_and_resumes_exactly(name, X, states):
    old = {k: v for k, v in states[name].items() if k != "feature_keys"}  # as genad wrote it before
    resumed, control = make(name).load_state_dict(old), make(name).load_state_dict(states[name])
    np.testing.assert_array_equal(resumed.process(X[100:]), control.process(X[100:]))
    assert resumed.state_dict()["feature_keys"] is None


# --- 2. process is all or nothing ------------------------------------------------------------------
HUGE = np.full((2, 4), 3e38, np.float32)  # finite float32, but the scores overflow


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("name", MODELS)
def test_a_record_with_a_non_finite_score_is_rejected_and_learned_from_not_at_all(name, X):
    det, control = warm(name, X), warm(name, X)
    before = copy.deepcopy(det.state_dict())
    with pytest.raises(FloatingPointError, match="non-finite"):
        det.process(HUGE)
    with pytest.raises(FloatingPointError, match="non-finite"):
        det.learn_one(HUGE[0])
    assert_same(before, det.state_dict())  # counters too: the call's records were not seen
    # the stream goes on exactly as if the bad calls never happened
    np.testing.assert_array_equal(det.process(X[40:200]), control.process(X[40:200]))
    assert det.n_updates_ == control.n_updates_ > 0


@pytest.mark.parametrize("name", MODELS)
def test_a_failure_after_updates_rolls_back_the_whole_call(name, X, monkeypatch):
    """Memory admissions (written in place) and offline updates earlier in the call are undone too."""
    det, control = warm(name, X), warm(name, X)
    before = copy.deepcopy(det.state_dict())
    chunk = type(det)._process_chunk

    def fail_after_three_updates(self, rows):
        if self.n_updates_ >= before["model_state"]["n_updates"] + 3:
            raise FloatingPointError("non-finite score")
        return chunk(self, rows)
    monkeypatch.setattr(type(det), "_process_chunk", fail_after_three_updates)
    with pytest.raises(FloatingPointError):
        det.process(X[40:200])
    assert_same(before, det.state_dict())
    monkeypatch.undo()
    np.testing.assert_array_equal(det.process(X[40:200]), control.process(X[40:200]))


def test_a_failing_offline_update_restores_meter_networks(X, monkeypatch):
    det = warm("meter", X)
    before = copy.deepcopy(det.state_dict())
    update = METER._offline_update

    def update_then_fail(self):
        update(self)  # retrains the networks, then something fails
        raise RuntimeError("interrupted")
    monkeypatch.setattr(METER, "_offline_update", update_then_fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        det.process(X[40:120])
    assert_same(before, det.state_dict())
    monkeypatch.undo()
    np.testing.assert_array_equal(det.process(X[40:200]), warm("meter", X).process(X[40:200]))


@pytest.mark.parametrize("name", MODELS)
def test_a_failing_warm_up_inside_process_keeps_the_buffer(name, X, monkeypatch):
    det = make(name)
    det.process(X[:5])
    before = copy.deepcopy(det.state_dict())
    monkeypatch.setattr(type(det), "_warm_up", fail_with(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        det.process(X[5:60])
    assert_same(before, det.state_dict())
    assert not det.warmed_up_
    with pytest.raises(KeyboardInterrupt):
        det.warm_up(X[:60])
    assert_same(before, det.state_dict())


def test_a_first_call_that_fails_leaves_a_fresh_detector(X, monkeypatch):
    det = make("memstream")
    monkeypatch.setattr(type(det), "_warm_up", fail_with(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        det.process(X[:40])
    assert not hasattr(det, "n_features_in_")


# --- 3. dict records are read by name -------------------------------------------------------------
@pytest.mark.parametrize("name", MODELS)
def test_dict_records_are_read_by_key_not_by_order(name, X):
    det = warm(name, X)
    x = X[50]
    forward = det.score_one(dict(zip("abcd", x)))  # the first dict record fixes the names
    assert det.score_one(dict(zip("dcba", x[::-1]))) == forward == det.score_one(x)
    reference = warm(name, X)
    det.learn_one(dict(zip("dcba", X[51][::-1])))
    reference.learn_one(X[51])
    det.learn_one(X[52])  # arrays still welcome once the width matches
    reference.learn_one(X[52])
    assert det.score_one({"b": X[53][1], "d": X[53][3], "a": X[53][0], "c": X[53][2]}) == reference.score_one(X[53])


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("record", [{"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0},
                                    {"p": 1.0, "q": 2.0, "r": 3.0, "s": 4.0}])
def test_dict_records_with_missing_or_unknown_keys_are_rejected(name, record, X):
    det = warm(name, X)
    det.learn_one(dict(zip("abcd", X[40])))
    before = copy.deepcopy(det.state_dict())
    for call in (det.learn_one, det.score_one):
        with pytest.raises(ValueError, match="missing|unknown"):
            call(record)
    assert_same(before, det.state_dict())


@pytest.mark.parametrize("name", MODELS)
def test_a_rejected_first_dict_record_does_not_fix_the_names(name, X):
    det = warm(name, X)
    with pytest.raises((ValueError, TypeError)):
        det.learn_one({"p": 1.0, "q": "x", "r": 3.0, "s": 4.0})
    with pytest.raises(ValueError):
        det.score_one({"p": 1.0, "q": 2.0, "r": 3.0})
    assert det.state_dict()["feature_keys"] is None
    det.learn_one(dict(zip("abcd", X[40])))
    assert det.state_dict()["feature_keys"] == list("abcd")


@pytest.mark.parametrize("name", MODELS)
def test_feature_names_resume_from_a_state_and_reset_with_warm_up(name, X):
    det = make(name)
    for row in X[:40]:
        det.learn_one(dict(zip("abcd", row)))
    resumed = make(name).load_state_dict(det.state_dict())
    record = dict(zip("dcba", X[41][::-1]))
    assert resumed.score_one(record) == det.score_one(X[41])
    with pytest.raises(ValueError, match="unknown"):
        resumed.learn_one(dict(zip("pqrs", X[41])))
    resumed.warm_up(X[:40])  # a new stream: new names are welcome
    resumed.learn_one(dict(zip("pqrs", X[41])))
    assert resumed.state_dict()["feature_keys"] == list("pqrs")
