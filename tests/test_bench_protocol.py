"""The tabular protocol of DESIGN.md section 5: cap, stratified split, protocols, scaling."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import genad
from bench_data import planted_table
from genad.bench import runner
from genad.bench.protocol import cap_rows, make_split


def test_cap_is_stratified_deterministic_and_only_above_the_limit():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(25_000, 3)), (rng.uniform(size=25_000) < 0.05).astype(int)
    X1, y1 = cap_rows(X, y)
    X2, _ = cap_rows(X, y)
    assert X1.shape == (20_000, 3)
    assert abs(y1.mean() - y.mean()) < 1e-4
    np.testing.assert_array_equal(X1, X2)
    small_X, small_y = cap_rows(X[:500], y[:500])
    np.testing.assert_array_equal(small_X, X[:500])
    np.testing.assert_array_equal(small_y, y[:500])


@pytest.mark.parametrize("protocol", ["unsupervised", "one-class"])
def test_split_is_stratified_70_30_and_scaled_on_the_fitted_rows(protocol):
    X, y = planted_table(n=400)
    split = make_split(X, y, seed=1, protocol=protocol)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=1)
    fitted = X_train if protocol == "unsupervised" else X_train[y_train == 0]
    assert len(split.y_test) == 120 and len(split.X_fit) == len(fitted)
    assert abs(split.y_test.mean() - y.mean()) < 0.01
    np.testing.assert_array_equal(split.y_test, y_test)
    scaler = StandardScaler().fit(fitted)
    np.testing.assert_allclose(split.X_fit, scaler.transform(fitted))
    np.testing.assert_allclose(split.X_test, scaler.transform(X_test))
    np.testing.assert_allclose(split.X_fit.mean(axis=0), 0, atol=1e-9)


def test_one_class_fits_on_normal_train_rows_only():
    X, y = planted_table(n=400)
    X = np.column_stack([X, y])  # a feature that reveals the label
    one_class = make_split(X, y, seed=0, protocol="one-class")
    unsupervised = make_split(X, y, seed=0, protocol="unsupervised")
    assert np.all(one_class.X_fit[:, -1] == 0)  # constant 0 column after scaling: no anomaly was fitted
    assert len(np.unique(unsupervised.X_fit[:, -1])) == 2
    assert len(unsupervised.X_fit) > len(one_class.X_fit)


def test_seeds_change_the_split_and_nan_becomes_zero():
    X, y = planted_table(n=300)
    X[0, 0] = np.nan
    a, b = make_split(X, y, 0, "unsupervised"), make_split(X, y, 1, "unsupervised")
    assert not np.array_equal(a.y_test, b.y_test) or not np.allclose(a.X_test, b.X_test)
    assert np.isfinite(a.X_fit).all() and np.isfinite(a.X_test).all()
    assert (a.X_fit == 0).any() or (a.X_test == 0).any()


def test_unknown_protocol_is_refused():
    X, y = planted_table(n=100)
    with pytest.raises(ValueError, match="unknown protocol"):
        make_split(X, y, 0, "semi")


@pytest.mark.skipif(runner._LIBC is None, reason="needs glibc's malloc_trim")
def test_peak_memory_of_later_cells_in_one_worker_is_not_zero():
    """A worker runs cells one after another; the allocator's leftovers must not hide a cell's memory."""
    X = np.random.default_rng(0).normal(size=(20_000, 40)).astype(np.float32)  # 3 MiB, copied while fitting
    peaks = []
    for _ in range(3):
        with runner.PeakMemory() as memory:
            genad.create("ae", epochs=1, batch_size=4096).fit(X).decision_function(X)
        peaks.append(memory.peak_mb)
    assert min(peaks[1:]) > 8, peaks  # without handing freed memory back: 0-3 MiB


def test_every_record_keeps_the_environment_its_figures_depend_on(tmp_path):
    """Package versions and the CPU's kernel family travel with each cell, finished or failed, so a later
    reproduction that does not match can be traced to the code or to the environment."""
    import torch
    from bench_data import make_data_dir
    from genad.bench import make_grid, parse_model_spec, resolve_datasets

    root = make_data_dir(tmp_path, names=("1_alpha",))
    (cell,) = make_grid(resolve_datasets(["adbench:alpha"], data_dir=root), [parse_model_spec("pyod:IForest")],
                        [0], ["one-class"])
    record = runner.run_cell(cell)
    environment = record["extra"]["environment"]
    assert record["status"] == "ok" and environment["numpy"] == np.__version__
    assert environment["torch"] == torch.__version__
    assert environment["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    for path in root.rglob("*.npz"):
        path.unlink()  # the data gone: the cell fails, and still says where it ran
    failed = runner.run_cell(cell)
    assert failed["status"] == "failed" and failed["extra"]["environment"] == environment
