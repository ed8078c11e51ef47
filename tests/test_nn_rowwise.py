"""Row-invariant dense layers: a row's output never depends on the rows it is computed with."""
from __future__ import annotations

import numpy as np
import pytest

from genad.nn import rowwise


@pytest.fixture(scope="module")
def layer():
    rng = np.random.default_rng(0)
    H = rng.normal(size=(37, 23)).astype(np.float32)
    W_t = rng.normal(size=(23, 11)).astype(np.float32)
    b = rng.normal(size=11).astype(np.float32)
    shift = rng.normal(size=(37, 5 + 23 * 11 + 11)).astype(np.float32)
    return H, W_t, b, shift


@pytest.mark.parametrize("shifted", [False, True])
def test_rows_alone_equal_rows_together(layer, shifted):
    H, W_t, b, shift = layer
    row_shift = (lambda i: shift[i:i + 1]) if shifted else (lambda i: None)
    together = rowwise.dense_rows(H, W_t, b, shift if shifted else None, offset=5)
    alone = np.concatenate([rowwise.dense_rows(H[i:i + 1], W_t, b, row_shift(i), offset=5) for i in range(len(H))])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(together, rowwise._dense_numpy(H, W_t, b, shift if shifted else rowwise._NO_SHIFT, 5))


def test_shifted_layer_is_each_rows_own_linear_map(layer):
    H, W_t, b, shift = layer
    d_in, d_out = W_t.shape
    out = rowwise.dense_rows(H, W_t, b, shift, offset=5)
    for i in range(len(H)):
        weight = W_t.T + shift[i, 5:5 + d_in * d_out].reshape(d_out, d_in)
        expected = weight.astype(np.float64) @ H[i] + b + shift[i, 5 + d_in * d_out:]
        np.testing.assert_allclose(out[i], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rowwise.dense_rows(H, W_t, b), H.astype(np.float64) @ W_t + b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shifted", [False, True])
def test_rows_in_parallel_blocks_equal_rows_alone(shifted):
    """A batch large enough for the parallel row blocks gives every row exactly its result alone."""
    rng = np.random.default_rng(1)
    n = rowwise._PARALLEL_ROWS + 45
    H, W_t, b = (rng.normal(size=shape).astype(np.float32) for shape in ((n, 19), (19, 7), (7,)))
    shift = rng.normal(size=(n, 19 * 7 + 7)).astype(np.float32) if shifted else None
    together = rowwise.dense_rows(H, W_t, b, shift)
    for i in (0, 63, 64, n - 1):
        alone = rowwise.dense_rows(H[i:i + 1], W_t, b, None if shift is None else shift[i:i + 1])
        np.testing.assert_array_equal(together[i], alone[0])
    np.testing.assert_array_equal(together, rowwise._dense_numpy(H, W_t, b, rowwise._NO_SHIFT if shift is None
                                                                  else shift, 0))
