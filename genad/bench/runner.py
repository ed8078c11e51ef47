"""The bench runner: a grid of cells (dataset x model x seed x protocol x anomaly type), one function that
turns a cell into a result record, and executors that run cells in local processes or on Dask.

:func:`run_cell` is the unit other suites reuse: a picklable :class:`Cell` in, a plain dict out (the row
the :class:`~genad.bench.store.ResultStore` writes). It never raises for a model's failure: the error is
recorded in the result and the run goes on.

Peak memory: a thread samples the process's resident set size (RSS) every 5 ms while the model fits and
scores; ``peak_memory_mb`` is the highest sample minus the RSS just before the model was built (the data
already loaded), i.e. the extra memory the model needed. Its resolution is the sampling period. A worker
process runs many cells, and the C allocator keeps memory that earlier cells freed, so a later cell would reuse
it without any RSS growth; before each measurement the free memory is therefore handed back to the operating
system (glibc's ``malloc_trim``), which makes every cell start from the same footing.
"""
from __future__ import annotations

import ctypes
import functools
import gc
import hashlib
import os
import platform
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, Iterator

import numpy as np

from genad.bench.datasets import DatasetRef, load_dataset
from genad.bench.models import ModelSpec, build_model
from genad.bench.protocol import PROTOCOLS, cap_rows, make_split
from genad.bench.store import KEY_FIELDS, ResultStore, scores_sha256
from genad.training import warm_up_torch

SUITE = "tabular"
REAL = "real"  # the anomalies key of cells that keep the dataset's own anomalies
EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Cell:
    """One unit of work: everything needed to compute one result row, picklable."""

    dataset: DatasetRef
    model: str
    seed: int
    protocol: str
    anomalies: str = REAL
    threads: int = 1

    @property
    def key(self) -> tuple:
        return (SUITE, self.dataset.name, self.model, self.seed, self.protocol, self.anomalies)


def make_grid(datasets: list[DatasetRef], models: list[ModelSpec], seeds: list[int], protocols: list[str],
              anomalies: list[str] = (REAL,), threads: int = 1) -> list[Cell]:
    """Every combination, datasets outermost; an empty grid, an unknown protocol or a value given twice is an
    error."""
    from genad.synthesis import ANOMALY_TYPES

    for name, values in (("seeds", seeds), ("protocols", protocols), ("anomalies", anomalies)):
        twice = sorted({str(v) for v in values if list(values).count(v) > 1})
        if twice:
            raise ValueError(f"{name} given more than once: {', '.join(twice)} (each cell would run twice)")
    for protocol in protocols:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected some of {PROTOCOLS}")
    for kind in anomalies:
        if kind != REAL and kind not in ANOMALY_TYPES:
            raise ValueError(f"unknown anomaly type {kind!r}; expected {REAL!r} or one of {ANOMALY_TYPES}")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seeds must be non-negative integers, got {seed!r}")
    cells = [Cell(d, m.text, int(s), p, a, threads)
             for d in datasets for m in models for a in anomalies for p in protocols for s in seeds]
    if not cells:
        empty = [n for n, v in (("datasets", datasets), ("models", models), ("seeds", seeds),
                                ("protocols", protocols), ("anomalies", anomalies)) if not v]
        raise ValueError(f"the grid has zero cells (no {', '.join(empty)} given)")
    return cells


# --- one cell ------------------------------------------------------------------------------------
def prepare_data(cell: Cell):
    """Load, cap, optionally synthesise anomalies, split and scale: the protocol of DESIGN.md section 5."""
    X, y = cap_rows(*load_dataset(cell.dataset))
    if cell.anomalies != REAL:
        from genad.synthesis import replace_anomalies

        X, y = replace_anomalies(X, y, cell.anomalies, seed=cell.seed)
    return make_split(X, y, cell.seed, cell.protocol)


def run_cell(cell: Cell) -> dict[str, Any]:
    """Compute one cell's result record; failures become ``status='failed'`` records with the error."""
    import torch

    from threadpoolctl import threadpool_limits

    threads_before = torch.get_num_threads()
    torch.set_num_threads(max(1, cell.threads))
    try:  # numpy/scipy/sklearn (the PyOD baselines) get the same thread budget as torch
        with threadpool_limits(limits=max(1, cell.threads)):
            warm_up_torch()
            return _measure(cell)
    finally:
        torch.set_num_threads(threads_before)  # leave an in-process caller's setting as it was


def _measure(cell: Cell) -> dict[str, Any]:
    """Prepare the split, fit, score, time and measure; any exception becomes a failed record."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from genad.bench.models import parse_model_spec

    record: dict[str, Any] = dict(zip(KEY_FIELDS, cell.key))
    record.update(provenance())
    try:
        split = prepare_data(cell)
        spec = parse_model_spec(cell.model)
        with PeakMemory() as memory:
            model = build_model(spec, cell.seed, split.X_fit.shape[1])
            start = time.perf_counter()
            model.fit(split.X_fit)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            scores = np.asarray(model.decision_function(split.X_test), dtype=np.float64).reshape(-1)
            score_seconds = time.perf_counter() - start
        if not np.isfinite(scores).all():
            raise FloatingPointError(f"{cell.model} returned {int((~np.isfinite(scores)).sum())} non-finite scores")
        record.update(
            status="ok", auroc=float(roc_auc_score(split.y_test, scores)),
            auprc=float(average_precision_score(split.y_test, scores)),
            fit_seconds=fit_seconds, score_seconds=score_seconds, peak_memory_mb=memory.peak_mb,
            n_fit=len(split.X_fit), n_test=len(split.y_test), n_test_anomalies=int(split.y_test.sum()),
            scores_sha256=scores_sha256(scores),
        )
    except Exception as err:  # a model's failure is a result, not the end of the run
        record.update(status="failed", error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")
    record["finished_at"] = time.time()
    return record


#: The packages a cell's floating-point results can depend on, besides genad itself.
RESULT_PACKAGES = ("numpy", "scipy", "scikit-learn", "pandas", "torch", "pyod")


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, str]:
    """What a cell's figures depend on besides genad's code: the package versions, the CPU, and the kernel
    family torch dispatches to on it (``AVX2``, ``AVX512``, ...). The same code and seed can round differently
    in another environment, and after many training steps the figures then differ too, so every record keeps
    this, and a reproduction that does not match can be traced to code or to environment."""
    from importlib import metadata

    import torch

    versions = {}
    for name in RESULT_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pyod: an optional extra
            pass
    return {"python": platform.python_version(), **versions, "cpu": _cpu_model(),
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or platform.machine()


def provenance() -> dict[str, Any]:
    """The fields every suite's record starts with: genad's version, the host, and :func:`environment`
    (under ``extra``, which the suites add their own measurements to)."""
    import genad

    return {"genad_version": genad.__version__, "host": platform.node(), "extra": {"environment": dict(environment())}}


class PeakMemory:
    """Peak resident memory above the level at entry, sampled in a background thread (MiB)."""

    def __init__(self, period: float = 0.005):
        self.period = period
        self.peak_mb = 0.0

    def __enter__(self) -> "PeakMemory":
        _return_free_memory()
        self._base = self._peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.period):
            self._peak = max(self._peak, _rss_bytes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, _rss_bytes())
        self.peak_mb = (self._peak - self._base) / 2**20


def _return_free_memory() -> None:
    """Collect garbage and give the allocator's free pages back to the OS, where glibc allows it."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # missing on musl and non-Linux systems
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _load_glibc()


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: psutil comes with dask[distributed], the bench extra
        import psutil

        return psutil.Process().memory_info().rss


# --- executors -----------------------------------------------------------------------------------
Task = Callable[[Any], dict]


def run_local(cells: list, jobs: int = 1, max_restarts: int = 3,
              task: Task = run_cell) -> Iterator[dict[str, Any]]:
    """Yield ``task(cell)`` records as cells finish, in ``jobs`` worker processes (in-process for ``jobs == 1``).

    ``task`` is :func:`run_cell` for the tabular suite; another suite passes its own picklable function from a
    cell (anything with a ``key`` tuple of the store's key fields) to a record.

    A worker that dies (killed, out of memory) breaks the pool and stops the cells in flight with it. Those
    cells are then retried one at a time, each in a worker of its own, at most ``max_restarts`` times: a cell
    whose worker still dies is reported as failed, and the other cells go on in a fresh pool. One cell that
    always kills its worker thus fails alone and does not stop the rest of the grid.
    """
    if jobs == 1:
        for cell in cells:
            yield task(cell)
        return
    pending, unexplained = list(cells), 0
    while pending:
        in_flight = yield from _run_pool(pending, jobs, task)
        if in_flight is None:
            return
        unexplained = 0 if in_flight else unexplained + 1  # a worker died before it began any cell
        if unexplained > max_restarts:
            for cell in pending:
                yield _crash_record(cell, f"worker processes died {unexplained} times before running a cell")
            return
        for cell in in_flight:  # which of them killed its worker is unknown: each runs alone
            for _ in range(max_restarts):
                if (yield from _run_pool([cell], 1, task)) is None:
                    break
            else:
                yield _crash_record(cell, f"worker process died {max_restarts + 1} times while running the cell")
            pending.remove(cell)


def _run_pool(cells: list, jobs: int, task: Task) -> Generator[dict[str, Any], None, list | None]:
    """Yield the records of ``cells`` from one process pool, removing each finished cell from ``cells``.

    Returns None when every cell finished, else (a worker died) the cells that were running then: each worker
    marks the cell it runs with a file that it removes when the cell ends, so those are the marks left behind.
    """
    import multiprocessing
    import tempfile

    context = multiprocessing.get_context("spawn")  # no fork of a process that already holds torch threads
    with tempfile.TemporaryDirectory(prefix="genad-running-") as marks, \
            ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_marked, task, marks, index, cell): cell for index, cell in enumerate(cells)}
        order = list(futures.values())
        try:
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    cell = futures.pop(future)
                    yield future.result()
                    cells.remove(cell)
        except BrokenProcessPool:
            return [order[int(mark.name)] for mark in sorted(Path(marks).iterdir(), key=lambda m: int(m.name))]
    return None


def _marked(task: Task, marks: str, index: int, cell: Any) -> dict[str, Any]:
    """``task(cell)`` in a pool worker, with a mark file that exists while it runs."""
    mark = Path(marks) / str(index)
    mark.touch()
    try:
        return task(cell)
    finally:
        mark.unlink()


def _crash_record(cell, message: str) -> dict[str, Any]:
    import genad

    record = dict(zip(KEY_FIELDS, cell.key))
    return record | {"status": "failed", "error": message, "genad_version": genad.__version__,
                     "finished_at": time.time()}


def run_dask(cells: list, scheduler: str | None = None, n_workers: int = 1, retries: int = 2,
             task: Task = run_cell) -> Iterator[dict[str, Any]]:
    """Yield ``task(cell)`` records from a Dask cluster: ``scheduler`` address, else a new ``LocalCluster``.

    With ``scheduler``, the workers must see the data files at the same paths (a shared file system).

    Dask re-schedules the task of a worker that dies (up to ``distributed.scheduler.allowed-failures``
    times); ``retries`` also re-runs a task that raised (``run_cell`` itself does not).
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ImportError("the dask executor needs dask.distributed: pip install genad[bench]") from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        futures = {client.submit(task, cell, key=f"genad-cell-{_cell_id(cell)}", pure=False,
                                 retries=retries): cell for cell in cells}
        for future in as_completed(futures):
            cell = futures[future]
            try:
                yield future.result()
            except Exception as err:  # the task failed on every try (e.g. a worker died each time)
                yield _crash_record(cell, f"dask task failed: {type(err).__name__}: {err}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _cell_id(cell: Cell) -> str:
    return hashlib.sha1(repr(cell.key).encode()).hexdigest()[:16]


# --- a whole run ---------------------------------------------------------------------------------
def run_bench(cells: list[Cell], results: str, *, executor: str = "local", jobs: int = 1,
              scheduler: str | None = None, retry_failed: bool = True, progress: bool = True,
              on_record: Callable[[dict], None] | None = None, task: Task = run_cell) -> dict[str, int]:
    """Run the cells not yet finished in ``results``, writing each record as it arrives.

    Returns counts: ``total``, ``skipped`` (already finished), ``ok`` and ``failed`` (this run).
    """
    from tqdm.auto import tqdm

    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; expected one of {EXECUTORS}")
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    with ResultStore(results) as store:
        finished = store.finished_keys(include_failed=not retry_failed)
        todo = [c for c in cells if c.key not in finished]
        counts = {"total": len(cells), "skipped": len(cells) - len(todo), "ok": 0, "failed": 0}
        if not todo:
            return counts
        records: Iterable[dict] = (run_local(todo, jobs, task=task) if executor == "local"
                                   else run_dask(todo, scheduler, n_workers=jobs, task=task))
        with tqdm(total=len(todo), desc="bench", unit="cell", disable=not progress) as bar:
            for record in records:
                store.write(record)
                counts[record["status"]] += 1
                bar.update(1)
                bar.set_postfix(ok=counts["ok"], failed=counts["failed"], refresh=False)
                if on_record is not None:
                    on_record(record)
    return counts
