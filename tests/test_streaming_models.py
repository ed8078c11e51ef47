"""What makes MemStream and METER themselves, the exact L1 kNN kernel, and the streams suite's helpers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import genad
from genad.bench.streams import cut_stream, window_aurocs
from genad.models.streaming import METER, MemStream
from genad.nn.knn import l1_topk
from stream_data import drifting_stream


@pytest.fixture(scope="module")
def stream():
    return drifting_stream()


def test_registered_as_streaming_models():
    names = {info.name for info in genad.list_models(modality="stream")}
    assert {"memstream", "meter"} <= names
    assert genad.get_info("memstream").family == "streaming"


def test_memstream_ranks_spikes_above_the_drifting_normal(stream):
    X, y = stream
    det = MemStream(random_state=0, memory_size=64, epochs=5, beta=1.0)
    scores = det.process(X)
    assert roc_auc_score(y, scores) >= 0.9
    assert det.n_updates_ > 64  # the FIFO memory follows the drift beyond the warm-up replay


def test_memstream_without_updates_loses_the_drift(stream):
    """beta = 0 freezes the memory: once the stream has drifted, normal records look anomalous."""
    X, y = stream
    tracking = MemStream(random_state=0, memory_size=64, epochs=5, beta=1.0).process(X)
    frozen = MemStream(random_state=0, memory_size=64, epochs=5, beta=0.0).process(X)
    after = np.arange(len(X)) >= 750
    assert roc_auc_score(y[after], tracking[after]) > roc_auc_score(y[after], frozen[after]) + 0.05


def test_memstream_score_is_discounted_knn_distance(stream):
    X, _ = stream
    det = MemStream(random_state=0, memory_size=32, epochs=2, k=3, gamma=0.5, beta=0.0).warm_up(X[:32])
    z = det._encode(X[40:41], det.mean_, det.std_)
    d = np.sort(np.abs(det.memory_ - z).sum(1))[:3]
    expected = (d * [1, 0.5, 0.25]).sum() / 1.75
    assert det.score_one(X[40]) == pytest.approx(expected, rel=1e-4)


def test_memstream_presets_are_the_papers():
    det = MemStream.preset("nsl_kdd")
    assert (det.beta, det.memory_size) == (0.1, 2048)
    with pytest.raises(ValueError, match="preset"):
        MemStream.preset("unknown")


def test_trimmed_warm_up_drops_contamination(stream):
    X, _ = stream
    scattered = np.random.default_rng(1).normal(size=(16, X.shape[1])) * 3 + 8.0
    warm = np.concatenate([X[:48], scattered]).astype(np.float32)  # a quarter of the window: sparse outliers
    det = MemStream(random_state=0, memory_size=64, epochs=5, trim=0.25).warm_up(warm)
    assert len(det.mem_data_) == 48
    assert (det.mem_data_ < 6).all()


def test_meter_ranks_spikes_and_adapts(stream):
    X, y = stream
    det = METER(random_state=0, warm_up_size=128, epochs=20, update_epochs=10, hyper_hidden=16,
                window=10, max_uncertain=0)
    scores = det.process(X)
    assert roc_auc_score(y, scores) >= 0.84
    assert det.n_updates_ > 0


def test_meter_hypernetwork_shifts_start_at_zero(stream):
    X, _ = stream
    det = METER(random_state=0, warm_up_size=64, epochs=1, hyper_hidden=8)
    det._build(X.shape[1])
    x = torch.as_tensor(X[:5])
    assert not det.hyper_(x).any()
    torch.testing.assert_close(det._autoencode(x), det._autoencode(x, det.hyper_(x)))


@pytest.mark.parametrize("k", [1, 3])
def test_l1_topk_is_exact(k):
    rng = np.random.default_rng(0)
    memory = rng.normal(size=(300, 37)).astype(np.float32)
    queries = np.concatenate([memory[:5] + 0.01, rng.normal(size=(50, 37))]).astype(np.float32)
    expected = torch.cdist(torch.from_numpy(queries), torch.from_numpy(memory), p=1).topk(k, largest=False).values
    np.testing.assert_allclose(l1_topk(queries, memory, k), expected.numpy(), rtol=1e-5)
    one_by_one = np.concatenate([l1_topk(queries[i:i + 1], memory, k) for i in range(len(queries))])
    np.testing.assert_array_equal(one_by_one, l1_topk(queries, memory, k))


def test_cut_stream_keeps_order_and_finds_anomalies():
    X = np.arange(100, dtype=np.float32).reshape(-1, 1)
    y = np.zeros(100, dtype=int)
    y[80] = 1
    Xc, yc = cut_stream(X, y, max_records=20)
    assert len(Xc) == 20 and yc.sum() == 1 and (np.diff(Xc[:, 0]) == 1).all()
    Xh, _ = cut_stream(X, np.r_[1, np.zeros(99, dtype=int)], max_records=20)
    assert Xh[0, 0] == 0


def test_window_aurocs_skip_one_class_windows():
    y = np.r_[np.zeros(50, dtype=int), np.tile([0, 1], 25)]
    scores = y + 0.1 * np.arange(100) / 100
    out = window_aurocs(y, scores, n_windows=4)
    assert len(out) == 2 and all(a == 1.0 for a in out)
