"""The stream API on both streaming models: exact batching, bounded state, rejected input, state checks."""
from __future__ import annotations

import numpy as np
import pytest

import genad
from genad.streaming import load_checkpoint, save_checkpoint
from stream_data import drifting_stream

FAST = {"memstream": {"memory_size": 64, "epochs": 5, "beta": 1.0},
        "meter": {"warm_up_size": 128, "epochs": 3, "update_epochs": 2, "hyper_hidden": 16, "window": 10,
                  "max_uncertain": 0}}


def make(name, **extra):
    return genad.create(name, random_state=0, **{**FAST[name], **extra})


@pytest.fixture(scope="module")
def stream():
    return drifting_stream()


@pytest.mark.parametrize("name", sorted(FAST))
def test_process_equals_one_at_a_time(name, stream):
    X = stream[0][:900]
    batched = make(name)
    scores = batched.process(X)
    single = make(name)
    one_by_one = np.concatenate([single.process(X[i:i + 1]) for i in range(len(X))])
    assert scores.shape == (len(X),) and one_by_one.shape == (len(X),)
    np.testing.assert_array_equal(scores, one_by_one)  # bit for bit
    assert batched.n_updates_ == single.n_updates_ > 0  # the state really changed along the stream


@pytest.mark.parametrize("name", sorted(FAST))
def test_learn_one_and_score_one_follow_process(name, stream):
    X, _ = stream
    reference = make(name)
    reference.process(X[:300])
    det = make(name)
    for row in X[:300]:
        det.learn_one(row)
    assert det.score_one(X[300]) == reference.score_one(X[300])
    state = det.state_dict()
    det.score_one(X[301])
    assert det.state_dict()["n_seen"] == state["n_seen"]  # scoring alone learns nothing


@pytest.mark.parametrize("name", sorted(FAST))
def test_state_size_is_bounded(name, stream):
    X, _ = stream
    det = make(name)
    size = FAST[name].get("memory_size", FAST[name].get("warm_up_size"))
    long_stream = np.concatenate([X] * (10 * size // len(X) + 1))[:10 * size + size]
    det.process(long_stream[:size])
    after_warm_up = det.state_nbytes()
    det.process(long_stream[size:])
    assert det.n_seen_ >= 10 * size
    assert det.state_nbytes() == after_warm_up


@pytest.mark.parametrize("name", sorted(FAST))
@pytest.mark.parametrize("bad", ["wrong width", "nan", "text", "3-D"])
def test_rejected_record_leaves_state_unchanged(name, bad, stream):
    X, _ = stream
    det = make(name)
    det.process(X[:400])
    before = det.state_dict()
    record = {"wrong width": X[400:401, :-1], "nan": np.where(np.arange(4) == 2, np.nan, X[400:401]),
              "text": X[400:401].astype(str), "3-D": X[None, 400:402]}[bad]
    with pytest.raises((ValueError, TypeError)):
        det.process(record)
    with pytest.raises((ValueError, TypeError)):
        det.learn_one(record[0] if record.ndim == 2 else record)
    _assert_same_state(before, det.state_dict())


def test_score_before_warm_up_is_an_error(stream):
    X, _ = stream
    det = make("memstream")
    assert det.process(X[:10]).size == 0  # buffered for the warm-up
    with pytest.raises(ValueError, match="not warmed up"):
        det.score_one(X[0])
    assert det.process(X[10:64]).size == 64  # the warm-up window is complete: every record scored


@pytest.mark.parametrize("name", sorted(FAST))
def test_state_dict_resumes_exactly(name, stream):
    X, _ = stream
    full = make(name).process(X)
    first = make(name)
    head = first.process(X[:700])
    resumed = make(name).load_state_dict(first.state_dict())
    tail = resumed.process(X[700:])
    # other call boundaries batch the matrix products differently: equal up to float32 rounding
    np.testing.assert_allclose(np.concatenate([head, tail]), full, rtol=1e-6, atol=1e-6)
    assert resumed.state_dict()["n_seen"] == len(X)


def test_checkpoint_of_another_model_or_setting_is_rejected(stream, tmp_path):
    X, _ = stream
    meter = make("meter")
    meter.process(X[:200])
    save_checkpoint(meter, tmp_path)
    memstream = make("memstream")
    with pytest.raises(ValueError, match="meter"):
        load_checkpoint(memstream, tmp_path)
    assert not hasattr(memstream, "n_seen_")
    with pytest.raises(ValueError, match="settings"):
        load_checkpoint(make("meter", lr=0.5), tmp_path)
    state = meter.state_dict()
    with pytest.raises(ValueError, match="format"):
        make("meter").load_state_dict({**state, "format_version": 99})
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        load_checkpoint(make("meter"), tmp_path)


@pytest.mark.parametrize("name", sorted(FAST))
@pytest.mark.parametrize("bad", [{"epochs": 0}, {"lr": -1.0}, {"random_state": -1}])
def test_bad_parameters_are_rejected(name, bad, stream):
    X, _ = stream
    with pytest.raises((ValueError, TypeError)):
        make(name, **bad).process(X[:300])


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            _assert_same_state(a[key], b[key])
        elif hasattr(a[key], "shape"):
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("name", sorted(FAST))
def test_fit_and_decision_function_score_without_learning(name, stream):
    X, _ = stream
    det = make(name).fit(X[:300])
    before = det.state_dict()
    scores = det.decision_function(X[300:400])
    assert scores.shape == (100,) and np.isfinite(scores).all()
    assert set(np.unique(det.predict(X[300:400]))) <= {0, 1}
    _assert_same_state(before, det.state_dict())
    np.testing.assert_allclose(det.process(X[300:301]), scores[:1], rtol=1e-6)
