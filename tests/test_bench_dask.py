"""The Dask executor on a real LocalCluster with 2 worker processes gives the local executor's results."""
from __future__ import annotations

import pytest

from bench_data import CrashCell, die_once, make_data_dir
from genad.bench import ResultStore, make_grid, parse_model_spec, resolve_datasets, run_bench, run_dask

distributed = pytest.importorskip("dask.distributed")
MODELS = ["ae?epochs=2&hidden_dims=(4,2)", "pyod:IForest?n_estimators=20"]
VARYING = {"fit_seconds", "score_seconds", "peak_memory_mb", "host", "finished_at"}


def _comparable(results):
    return [{k: v for k, v in r.items() if k not in VARYING} for r in ResultStore(results).records()]


def test_dask_local_cluster_equals_local_processes(tmp_path):
    root = make_data_dir(tmp_path)
    cells = make_grid(resolve_datasets(["adbench:all"], data_dir=root), [parse_model_spec(m) for m in MODELS],
                      [0], ["unsupervised", "one-class"], threads=1)
    local = tmp_path / "local.sqlite"
    assert run_bench(cells, str(local), executor="local", jobs=2, progress=False)["ok"] == len(cells)

    on_dask = tmp_path / "dask.sqlite"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        counts = run_bench(cells, str(on_dask), executor="dask", scheduler=cluster.scheduler_address,
                           progress=False)
        crash = CrashCell("a", str(tmp_path / "a.died"))  # its worker dies on the first try
        (retried,) = run_dask([crash], scheduler=cluster.scheduler_address, task=die_once)
    assert counts == {"total": len(cells), "skipped": 0, "ok": len(cells), "failed": 0}
    assert _comparable(on_dask) == _comparable(local)
    assert {r["host"] for r in ResultStore(on_dask).records()}  # every record says where it ran
    assert retried["status"] == "ok" and (tmp_path / "a.died").exists()
