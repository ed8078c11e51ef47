"""What makes MemStream and METER themselves, the exact L1 kNN kernel, and the streams suite's helpers."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

import genad
from genad.bench.streams import cut_stream, window_aurocs
from genad.models.streaming import METER, MemStream
from genad.models.streaming.memstream import PAPER_SETTING, main_mode
from genad.nn.knn import l1_topk
from stream_data import drifting_stream


@pytest.fixture(scope="module")
def stream():
    return drifting_stream()


def test_registered_as_streaming_models():
    names = {info.name for info in genad.list_models(modality="stream")}
    assert {"memstream", "meter"} <= names
    assert genad.get_info("memstream").family == "streaming"


def recent_baselines(X, y, window: int = 64) -> tuple[float, float]:
    """AUROCs of two simple streaming scores: the distance to the mean of the last ``window`` records, and
    the L1 distance to the nearest of them (a raw kNN memory that admits every record)."""
    to_mean, nearest = np.zeros(len(X)), np.zeros(len(X))
    for i in range(1, len(X)):
        recent = X[max(0, i - window):i].astype(np.float64)
        to_mean[i] = np.linalg.norm(X[i] - recent.mean(0))
        nearest[i] = np.abs(recent - X[i]).sum(1).min()
    return roc_auc_score(y, to_mean), roc_auc_score(y, nearest)


def test_memstream_ranks_spikes_above_the_drifting_normal():
    """Spikes as far from the recent mean as normal records, but off their pattern (baselines: ~0.53, ~0.92)."""
    X, y = drifting_stream(norm_matched=True)
    det = MemStream(random_state=0, memory_size=64, epochs=5, beta=1.0, **PAPER_SETTING)
    scores = det.process(X)
    to_mean, nearest = recent_baselines(X, y)
    auc = roc_auc_score(y, scores)
    assert auc >= to_mean + 0.2
    # a memory that only admits records it finds normal, standardised by them, beats one that admits all
    assert auc >= nearest + 0.03
    assert det.n_updates_ > 64  # the FIFO memory follows the drift beyond the warm-up replay


def test_memstream_without_updates_loses_the_drift(stream):
    """beta = 0 freezes the memory: once the stream has drifted, normal records look anomalous."""
    X, y = stream
    tracking = MemStream(random_state=0, memory_size=64, epochs=5, beta=1.0, **PAPER_SETTING).process(X)
    frozen = MemStream(random_state=0, memory_size=64, epochs=5, beta=0.0, **PAPER_SETTING).process(X)
    after = np.arange(len(X)) >= 750
    assert roc_auc_score(y[after], tracking[after]) > roc_auc_score(y[after], frozen[after]) + 0.05


def test_memstream_score_is_discounted_knn_distance(stream):
    X, _ = stream
    det = MemStream(random_state=0, memory_size=32, epochs=2, k=3, gamma=0.5, beta=0.0,
                    **PAPER_SETTING).warm_up(X[:32])
    z = det._encode(X[40:41], det.mean_, det.std_)
    d = np.sort(np.abs(det.memory_ - z).sum(1))[:3]
    expected = (d * [1, 0.5, 0.25]).sum() / 1.75
    assert det.score_one(X[40]) == pytest.approx(expected, rel=1e-4)


def test_memstream_presets_are_the_papers():
    det = MemStream.preset("nsl_kdd")
    assert (det.beta, det.memory_size) == (0.1, 2048)
    with pytest.raises(ValueError, match="preset"):
        MemStream.preset("unknown")


def _level_with_spikes(n: int = 3000, seed: int = 0):
    """A one-dimensional signal whose level swings slowly (like MemStream's SYN stream), with 5% spikes
    that stand out from the recent level but not from the range of the whole stream."""
    rng = np.random.default_rng(seed)
    x = 10 * np.sin(np.arange(n) * 2 * np.pi / 1500) + rng.normal(size=n)
    y = np.zeros(n, dtype=int)
    spikes = rng.choice(np.arange(50, n), size=n // 20, replace=False)
    x[spikes] += rng.choice([-1, 1], size=len(spikes)) * rng.uniform(5, 7, size=len(spikes))
    y[spikes] = 1
    return x[:, None].astype(np.float32), y


def test_identity_encoder_scores_standardized_records_against_the_memory():
    X, _ = _level_with_spikes(200)
    det = MemStream(random_state=0, memory_size=16, encoder="identity", beta=0.0, **PAPER_SETTING).warm_up(X[:16])
    mean, std = X[:16].astype(np.float64).mean(0), X[:16].astype(np.float64).std(0, ddof=1)
    np.testing.assert_allclose(det.memory_, (X[:16] - mean) / std, rtol=1e-5)
    expected = np.abs(det.memory_ - (X[40] - mean) / std).sum(1).min()
    assert det.score_one(X[40]) == pytest.approx(expected, rel=1e-5)
    assert MemStream.preset("syn").encoder == "identity"  # as the reference's SYN script


def test_a_small_identity_memory_follows_the_level_and_flags_spikes():
    """The reference's SYN setting: a memory of 16 standardized records follows the swinging level, so a
    spike stands out from the recent records; a memory spanning the whole swing cannot see it."""
    X, y = _level_with_spikes()
    small = MemStream.preset("syn", random_state=0)
    small_scores = small.warm_up(X[:16]).process(X)
    wide_scores = MemStream.preset("syn", random_state=0, memory_size=1000).warm_up(X[:1000]).process(X)
    assert small.n_updates_ > len(X) // 2
    assert roc_auc_score(y, small_scores) >= 0.9
    assert roc_auc_score(y, small_scores) > roc_auc_score(y, wide_scores) + 0.1


def test_identity_encoder_streams_exactly_and_resumes():
    X, _ = _level_with_spikes(600)
    make = lambda: MemStream.preset("syn", random_state=0)  # noqa: E731
    full = make().process(X)
    single = make()
    np.testing.assert_array_equal(np.concatenate([single.process(X[i:i + 1]) for i in range(len(X))]), full)
    first = make()
    head = first.process(X[:300])
    tail = make().load_state_dict(first.state_dict()).process(X[300:])
    np.testing.assert_array_equal(np.concatenate([head, tail]), full)


def test_memory_updates_never_write_into_the_callers_array(stream):
    X = stream[0].copy()
    before = X.copy()
    det = MemStream(random_state=0, memory_size=64, epochs=2, beta=1.0, **PAPER_SETTING).warm_up(X[:64])
    det.process(X)
    assert det.n_updates_ > 0
    np.testing.assert_array_equal(X, before)


def test_trimmed_warm_up_drops_contamination(stream):
    X, _ = stream
    scattered = np.random.default_rng(1).normal(size=(16, X.shape[1])) * 3 + 8.0
    warm = np.concatenate([X[:48], scattered]).astype(np.float32)  # a quarter of the window: sparse outliers
    det = MemStream(random_state=0, memory_size=64, epochs=5, warm_up_mode="trimmed", trim=0.25).warm_up(warm)
    assert len(det.mem_data_) == 48
    assert (det.mem_data_ < 6).all()


def _flooded_window(seed: int = 0):
    """A warm-up window of 600 spread-out normal rows and a flood of 400 near-identical attack rows
    in small tight groups (like NSL-KDD's neptune records), interleaved; then a stream of both."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(3, 8))
    centres = rng.normal(size=(20, 8)) * 1.5 + 6.0  # 20 groups of near-duplicates

    def normal(n):
        return rng.normal(size=(n, 3)) @ mixing + 0.1 * rng.normal(size=(n, 8))

    def flood(n):
        return centres[rng.integers(0, 20, n)] + 0.01 * rng.normal(size=(n, 8))

    window = np.concatenate([normal(600), flood(400)])
    is_flood = np.r_[np.zeros(600, bool), np.ones(400, bool)]
    order = rng.permutation(len(window))
    stream = np.concatenate([normal(1000), flood(1000)])
    labels = np.r_[np.zeros(1000), np.ones(1000)]
    return window[order].astype(np.float32), is_flood[order], stream.astype(np.float32), labels


def test_main_mode_is_the_largest_mutual_knn_component():
    rng = np.random.default_rng(0)
    big = rng.normal(size=(60, 2))
    small = rng.normal(size=(40, 2)) * 0.01 + 20.0  # denser but smaller, and far away
    keep = main_mode(np.concatenate([big, small]).astype(np.float32), k=5)
    assert set(keep) <= set(range(60)) and len(keep) >= 50


def test_a_flood_of_near_duplicates_in_the_warm_up_does_not_take_over_the_memory():
    window, is_flood, stream, y = _flooded_window()
    label_free = MemStream(random_state=0, memory_size=len(window), epochs=50).warm_up(window)
    paper = MemStream(random_state=0, memory_size=len(window), epochs=50, beta=0.1, **PAPER_SETTING).warm_up(window)
    in_memory = {tuple(row) for row in label_free.mem_data_}
    flooded = sum(tuple(row) in in_memory for row in window[is_flood])
    assert flooded <= 0.02 * is_flood.sum()  # the paper's warm-up keeps all 400
    assert len(label_free.mem_data_) >= 0.8 * (~is_flood).sum()
    assert roc_auc_score(y, label_free.process(stream)) >= 0.95
    assert roc_auc_score(y, paper.process(stream)) < 0.8


def test_near_duplicates_do_not_take_memory_slots():
    """A long run of one repeated record leaves the memory as it was (duplicate-aware admission)."""
    X, _ = drifting_stream(n=300)
    det = MemStream(random_state=0, memory_size=64, epochs=5).warm_up(X[:64])
    before = det.mem_data_.copy()
    det.process(np.repeat(det.mem_data_[:1], 500, axis=0))
    assert det.n_updates_ == 0 and np.array_equal(det.mem_data_, before)


def test_label_free_threshold_and_score_scale_come_from_the_memory():
    X, _ = drifting_stream(n=300)
    det = MemStream(random_state=0, memory_size=64, epochs=5).warm_up(X[:64])
    own, nearest = det._own_knn_scores()
    errors = det._recon_errors(det.mem_data_)
    assert det.err_factor_ == pytest.approx(np.median(own) / np.median(errors))
    assert det.beta_ == pytest.approx(np.quantile(own + det.err_factor_ * errors, 0.5))
    assert det.dup_eps_ == pytest.approx(np.quantile(nearest, 0.1))
    z = det._encode(X[100:101], det.mean_, det.std_)
    xs = torch.as_tensor((X[100:101] - det.mean_) / det.std_, dtype=torch.float32)
    error = (det.decoder_(det.encoder_(xs)) - xs).abs().mean().item()
    expected = np.sort(np.abs(det.memory_ - z).sum(1))[0] + det.err_factor_ * error
    assert det.score_one(X[100]) == pytest.approx(expected, rel=1e-4)


def test_meter_ranks_spikes_and_adapts(stream):
    """On this stream's large spikes. Not a bar above simple baselines: the distance to the mean of the last
    64 records and the nearest of them rank these spikes at 0.99 and 1.00; on the norm-matched stream
    (drifting_stream(norm_matched=True)) METER ranks at 0.53-0.61 (also with emb_rate 0.5 and 300 epochs),
    against 0.53 and 0.92 for the two baselines. An untrained or never-updated METER gets 0.82-0.83 here."""
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


def test_cut_stream_keeps_order_and_the_stretch_with_the_most_anomalies():
    X = np.arange(100, dtype=np.float32).reshape(-1, 1)
    y = np.zeros(100, dtype=int)
    y[[5, 60, 70, 79]] = 1  # a lone anomaly first, then a burst
    Xc, yc = cut_stream(X, y, max_records=20)
    assert len(Xc) == 20 and yc.sum() == 3 and (np.diff(Xc[:, 0]) == 1).all()
    assert Xc[0, 0] == 60  # the earliest stretch holding the burst
    Xh, _ = cut_stream(X, np.r_[1, np.zeros(98, dtype=int), 1], max_records=20)
    assert Xh[0, 0] == 0  # a tie: the head


def test_window_aurocs_are_in_stream_order_with_none_for_one_class_windows():
    y = np.r_[np.zeros(50, dtype=int), np.tile([0, 1], 25)]
    scores = y + 0.1 * np.arange(100) / 100
    scores[75:] = -scores[75:]  # the last window ranks its anomalies last
    assert window_aurocs(y, scores, n_windows=4) == [None, None, 1.0, 0.0]


@pytest.mark.parametrize("make", [
    lambda: MemStream(memory_size=128, epochs=20, random_state=0),
    lambda: METER(random_state=0, warm_up_size=128, epochs=3, update_epochs=2, hyper_hidden=16, window=10,
                  max_uncertain=0),
], ids=["memstream", "meter"])
def test_streams_without_numba_are_exact_too(stream, monkeypatch, make):
    """The numpy fallback of the row-invariant layers (no numba installed) keeps process == one record at a time."""
    import genad.nn.rowwise as rowwise

    monkeypatch.setattr(rowwise, "_dense_row_range", None)
    monkeypatch.setattr(rowwise, "_ABS_KERNEL", None)
    X = stream[0][:900]
    batched = make()
    scores = batched.process(X)
    single = make()
    one_by_one = np.concatenate([single.process(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(scores, one_by_one)
    assert batched.n_updates_ == single.n_updates_ > 0


def test_suite_target_line_compares_memstream_with_the_best_baseline():
    import pandas as pd

    from genad.bench.streams import target_line

    per_stream = pd.DataFrame({"memstream": [0.9, 0.8, 0.7], "rshash": [0.85, 0.7, 0.6], "hst": [0.5, 0.5, 0.5],
                               "meter": [1.0, 1.0, 1.0]}, index=["a", "b", "c"])
    line = target_line(per_stream)
    assert line.startswith("memstream 0.800 vs best baseline rshash 0.717: difference +0.083")
    assert "over 3 streams" in line and line.endswith("MET")
    assert "not evaluated" in target_line(per_stream[["memstream", "meter"]])


def test_score_ranks_are_percentiles_with_shared_ties():
    from genad.bench.streams import score_ranks

    np.testing.assert_allclose(score_ranks(np.array([5.0, 1.0, 5.0, 1e9])), [0.625, 0.25, 0.625, 1.0])


def test_each_numba_kernel_compiles_its_own_python_function():
    """numba caches a kernel by its Python function, whatever its ``parallel`` flag: two kernels made from one
    function share a cache entry, and the first one compiled serves both (the parallel kNN ran serially so)."""
    numba = pytest.importorskip("numba")
    from genad.nn import knn, rowwise

    kernels = [value for module in (knn, rowwise) for value in vars(module).values()
               if isinstance(value, numba.core.registry.CPUDispatcher)]
    functions = [kernel.py_func for kernel in kernels]
    assert len(kernels) >= 3 and len(set(functions)) == len(functions)
    assert knn._tiles_topk.targetoptions.get("parallel") is True
