"""Dense layers whose every output row is computed alone, in a fixed order of operations.

Exact stream processing (``process`` equal to one record at a time) needs a record's score not to depend on the
batch it arrives in. BLAS matrix products change their summation order with the batch size, so streaming models
score with these layers instead of torch's. With numba a compiled kernel loops over rows (large batches in parallel
blocks of rows, which changes no row's arithmetic), and within a row adds the
input columns one by one into all outputs at once (the loop over outputs vectorises); without numba numpy does the
same column by column over all rows. Both paths make the same float32 products and sums in the same order.
"""
from __future__ import annotations

import numpy as np
from torch import nn

try:  # numba is optional (installed with PyOD); the kernel is compiled once and cached next to this file
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is absent
    numba = None

_NO_SHIFT = np.zeros((0, 0), dtype=np.float32)


def row_layer(weight, bias) -> tuple[np.ndarray, np.ndarray]:
    """``(weight.T, bias)`` of a torch linear layer as C-contiguous float32 arrays, the layout :func:`dense_rows` takes."""
    return (np.ascontiguousarray(weight.detach().cpu().numpy().T, dtype=np.float32),
            np.ascontiguousarray(bias.detach().cpu().numpy(), dtype=np.float32))


def mlp_layers(module: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """The linear layers of a :func:`genad.nn.mlp`, in order, as :func:`row_layer` arrays."""
    return [row_layer(layer.weight, layer.bias) for layer in module if isinstance(layer, nn.Linear)]


def relu_mlp_rows(x: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """A ReLU :func:`genad.nn.mlp` (no dropout or batch norm) through row-invariant layers."""
    h = x
    for i, (weight_t, bias) in enumerate(layers):
        h = dense_rows(h, weight_t, bias)
        if i < len(layers) - 1:
            h = np.maximum(h, np.float32(0.0))
    return h


def dense_rows(H: np.ndarray, W_t: np.ndarray, b: np.ndarray, shift: np.ndarray | None = None,
               offset: int = 0) -> np.ndarray:
    """``H @ W_t + b`` for float32 rows ``H`` ``(n, d_in)``, with ``W_t`` ``(d_in, d_out)`` (a torch weight, transposed).

    With ``shift`` ``(n, p)``, row ``i`` uses its own layer: weight ``W + shift[i, offset:offset + d_out * d_in]``
    (read as ``(d_out, d_in)``) and bias ``b + shift[i]`` at the next ``d_out`` positions, the layout of a
    hypernetwork's parameter shifts (METER).
    """
    H = np.ascontiguousarray(H, dtype=np.float32)
    shift = _NO_SHIFT if shift is None else np.ascontiguousarray(shift, dtype=np.float32)
    if _dense_row_range is None:
        return _dense_numpy(H, W_t, b, shift, offset)
    if H.shape[0] >= _PARALLEL_ROWS:
        return _dense_row_blocks(H, W_t, b, shift, offset)
    out = np.empty((H.shape[0], W_t.shape[1]), dtype=np.float32)  # few rows: no thread start-up
    _dense_row_range(H, W_t, b, shift, offset, out, 0, H.shape[0])
    return out


def abs_error_rows(X: np.ndarray, R: np.ndarray) -> np.ndarray:
    """``sum_k |X[i, k] - R[i, k]|`` per row, in float64, added in column order (row-invariant, unlike BLAS or
    numpy's pairwise sums)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    R = np.ascontiguousarray(R, dtype=np.float32)
    if _ABS_KERNEL is not None:
        return _ABS_KERNEL(X, R)
    total = np.zeros(len(X))
    for k in range(X.shape[1]):
        total += np.abs(X[:, k].astype(np.float64) - R[:, k])
    return total


def _abs_error_kernel(X, R):
    n, d = X.shape
    total = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for k in range(d):
            acc += abs(np.float64(X[i, k]) - np.float64(R[i, k]))
        total[i] = acc
    return total


def _dense_row_range(H, W_t, b, shift, offset, out, i0, i1):
    """Rows ``i0:i1`` of the layer, written to ``out``: each row alone, its input columns added in order."""
    d_in = H.shape[1]
    d_out = W_t.shape[1]
    shifted = shift.shape[0] > 0
    bias_at = offset + d_in * d_out
    for i in range(i0, i1):
        acc = out[i]
        for o in range(d_out):
            acc[o] = b[o]
        if shifted:
            for o in range(d_out):
                acc[o] += shift[i, bias_at + o]
        for k in range(d_in):
            h = H[i, k]
            if shifted:
                for o in range(d_out):
                    acc[o] += (W_t[k, o] + shift[i, offset + o * d_in + k]) * h
            else:
                for o in range(d_out):
                    acc[o] += W_t[k, o] * h


def _dense_row_blocks(H, W_t, b, shift, offset):
    """All rows, in blocks of ``_BLOCK_ROWS`` run in parallel (rows are independent, so the result is the same)."""
    n = H.shape[0]
    out = np.empty((n, W_t.shape[1]), dtype=np.float32)
    for block in _prange((n + _BLOCK_ROWS - 1) // _BLOCK_ROWS):
        i0 = block * _BLOCK_ROWS
        _dense_row_range(H, W_t, b, shift, offset, out, i0, min(i0 + _BLOCK_ROWS, n))
    return out


def _dense_numpy(H, W_t, b, shift, offset):
    n, d_in = H.shape
    d_out = W_t.shape[1]
    bias_at = offset + d_in * d_out
    out = np.repeat(b[None], n, axis=0)
    if shift.shape[0] > 0:
        out += shift[:, bias_at:bias_at + d_out]
    for k in range(d_in):
        weight = W_t[k][None] if shift.shape[0] == 0 else W_t[k][None] + shift[:, offset + k:bias_at:d_in]
        out += weight * H[:, k:k + 1]
    return out


# each kernel compiles its own Python function: numba's on-disk cache is keyed by the function, not by ``parallel``
_PARALLEL_ROWS, _BLOCK_ROWS = 256, 64
if numba is not None:
    _prange = numba.prange
    _dense_row_range = numba.njit(cache=True)(_dense_row_range)
    _dense_row_blocks = numba.njit(cache=True, parallel=True)(_dense_row_blocks)
    _ABS_KERNEL = numba.njit(cache=True)(_abs_error_kernel)
else:  # pragma: no cover - exercised only where numba is absent
    _prange, _dense_row_range, _ABS_KERNEL = range, None, None
