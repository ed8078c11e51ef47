"""Exact K smallest L1 (Manhattan) distances from queries to a memory of vectors.

``torch.cdist(p=1)`` runs at about 1.5 G-ops/s on a 2-core CPU: too slow for streams that compare
every record with thousands of memory entries. With numba (installed with PyOD, genad's baseline
extra) a compiled kernel reads the memory transposed, so the innermost loop runs over memory rows
(contiguous, vectorised), in tiles of queries x rows that stay in cache; queries run in parallel.
Without numba the torch path is used. Each distance is summed over dimensions in the same order
whatever the batch, so a query's result never depends on the batch it came in.
"""
from __future__ import annotations

import numpy as np
import torch

try:  # numba is optional: the kernel is compiled once and cached next to this file
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is absent
    numba = None

_QUERY_TILE, _ROW_TILE = 8, 512


def l1_topk(queries: np.ndarray, memory: np.ndarray, k: int, memory_t: np.ndarray | None = None) -> np.ndarray:
    """The ``k`` smallest L1 distances of each query row to the memory rows, ascending, ``(n, k)`` float32.

    ``memory_t`` may pass ``memory.T`` as a C-contiguous array when the caller keeps one (saves a copy).
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    if not 1 <= k <= memory.shape[0]:
        raise ValueError(f"k must be in [1, {memory.shape[0]}] (the memory size), got {k}")
    if queries.shape[0] == 0:
        return np.empty((0, k), dtype=np.float32)
    if numba is None:
        dist = torch.cdist(torch.from_numpy(queries), torch.from_numpy(np.asarray(memory, np.float32)), p=1)
        return dist.topk(k, dim=1, largest=False).values.numpy()
    if memory_t is None:
        memory_t = np.ascontiguousarray(np.asarray(memory, dtype=np.float32).T)
    if queries.shape[0] > _QUERY_TILE:
        return _tiles_topk(queries, memory_t, k)
    out = np.empty((queries.shape[0], k), dtype=np.float32)  # one tile: no thread start-up
    _tile_topk(queries, memory_t, k, 0, queries.shape[0], out)
    return out


def _insert(best, value):
    """Insert ``value`` into the ascending array ``best``, dropping its largest entry."""
    p = best.shape[0] - 1
    while p > 0 and best[p - 1] > value:
        best[p] = best[p - 1]
        p -= 1
    best[p] = value


def _tile_topk(queries, memory_t, k, q0, q1, out):
    """The k smallest distances of queries ``q0:q1`` (one tile), written to ``out[q0:q1]``."""
    best = np.full((q1 - q0, k), np.inf, dtype=np.float32)
    dist = np.empty((q1 - q0, _ROW_TILE), dtype=np.float32)
    m, d = memory_t.shape[1], queries.shape[1]
    for r0 in range(0, m, _ROW_TILE):
        r1 = min(r0 + _ROW_TILE, m)
        dist[:, :] = 0.0
        for t in range(d):
            row = memory_t[t, r0:r1]
            for b in range(q1 - q0):
                qt = queries[q0 + b, t]
                acc = dist[b]
                for j in range(r1 - r0):
                    acc[j] += abs(qt - row[j])
        for b in range(q1 - q0):
            for j in range(r1 - r0):
                if dist[b, j] < best[b, k - 1]:
                    _insert(best[b], dist[b, j])
    out[q0:q1] = best


def _tiles_topk(queries, memory_t, k):
    """All queries, one tile of ``_QUERY_TILE`` rows per task, the tiles in parallel."""
    n = queries.shape[0]
    out = np.empty((n, k), dtype=np.float32)
    for tile in _prange((n + _QUERY_TILE - 1) // _QUERY_TILE):
        q0 = tile * _QUERY_TILE
        _tile_topk(queries, memory_t, k, q0, min(q0 + _QUERY_TILE, n), out)
    return out


# Each kernel compiles its own Python function: numba keys its on-disk cache by the function, not by the
# ``parallel`` flag, so a serial and a parallel kernel made from one function would share one compiled version.
if numba is not None:
    _prange = numba.prange
    _insert = numba.njit(cache=True)(_insert)
    _tile_topk = numba.njit(cache=True)(_tile_topk)
    _tiles_topk = numba.njit(cache=True, parallel=True)(_tiles_topk)
else:  # pragma: no cover
    _prange = range
