"""Dense-layer kernels: matrix products and the bias-gradient reduction.

Matrix products go to BLAS through ``np.dot(..., out=...)``, which writes
into preallocated buffers, except products with at most ``SMALL_ROWS`` rows:
those use :func:`matmul_rows`, where every row is computed alone in a fixed
order. BLAS picks different code paths (and so different roundings) for
different numbers of rows, so without this a sample's prediction would change
in the last bit with the size of the request it came in; and for one row the
simple loop is as fast as BLAS's matrix-vector product.

The bias gradient is a column sum computed over fixed column blocks, each
summed over rows in order, so its result does not depend on the thread count.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel, serial_kernel

_COLUMN_BLOCK = 16

#: Products with at most this many rows bypass BLAS (see the module docstring).
SMALL_ROWS = 32


def matmul(a, b, out, exact_rows=True):
    """``out = a @ b``.

    ``exact_rows=False`` sends small products to BLAS too: for training,
    where no prediction has to match another request's, and a shard of a
    batch can have as few rows as :data:`SMALL_ROWS`.
    """
    if exact_rows and a.shape[0] <= SMALL_ROWS:
        matmul_rows(a, b, out)
    else:
        np.dot(a, b, out=out)


@serial_kernel
def matmul_rows(a, b, out):
    """``out = a @ b`` row by row: ``out[i] = sum_k a[i, k] * b[k]``, k in order."""
    n, m = a.shape
    p = b.shape[1]
    for i in range(n):
        row = out[i]
        for j in range(p):
            row[j] = out.dtype.type(0.0)
        for k in range(m):
            aik = a[i, k]
            bk = b[k]
            for j in range(p):
                row[j] += aik * bk[j]


def matmul_tn(a, b, out):
    """``out = a.T @ b`` (weight gradient)."""
    np.dot(a.T, b, out=out)


def matmul_nt(a, b, out):
    """``out = a @ b.T`` (gradient with respect to the input)."""
    np.dot(a, b.T, out=out)


@kernel
def column_sum(x, out):
    """``out[j] = sum_i x[i, j]``, rows added in index order."""
    n, m = x.shape
    n_blocks = (m + _COLUMN_BLOCK - 1) // _COLUMN_BLOCK
    for blk in prange(n_blocks):
        start = blk * _COLUMN_BLOCK
        stop = min(start + _COLUMN_BLOCK, m)
        for j in range(start, stop):
            out[j] = x.dtype.type(0.0)
        for i in range(n):
            for j in range(start, stop):
                out[j] += x[i, j]


@kernel
def row_sum(x, out):
    """``out[i] = sum_j x[i, j]`` (the bias gradient of a channel-major convolution)."""
    n, m = x.shape
    for i in prange(n):
        row = x[i]
        total = x.dtype.type(0.0)
        for j in range(m):
            total += row[j]
        out[i] = total


@kernel
def take_rows(out, x, idx):
    """``out[k] = x[idx[k]]``: gather a batch into a preallocated buffer."""
    m = x.shape[1]
    for k in prange(idx.shape[0]):
        src = idx[k]
        for j in range(m):
            out[k, j] = x[src, j]


@kernel
def add_into(out, x):
    """In place: ``out += x`` (gradient accumulation at graph forks)."""
    flat_out = out.reshape(-1)
    flat_x = x.reshape(-1)
    for i in prange(flat_out.shape[0]):
        flat_out[i] += flat_x[i]


@kernel
def take(out, x, idx):
    """``out[k] = x[idx[k]]`` for 1-D arrays (labels, weights)."""
    for k in prange(idx.shape[0]):
        out[k] = x[idx[k]]


@kernel
def add(out, a, b):
    """``out = a + b`` element-wise (arrays of one shape, contiguous)."""
    o = out.reshape(-1)
    x = a.reshape(-1)
    y = b.reshape(-1)
    for i in prange(o.shape[0]):
        o[i] = x[i] + y[i]


@kernel
def copy(out, x):
    """``out[...] = x`` (arrays of one size, contiguous)."""
    o = out.reshape(-1)
    s = x.reshape(-1)
    for i in prange(o.shape[0]):
        o[i] = s[i]


@kernel
def put_columns(out, x, offset):
    """``out[:, offset:offset + x.shape[1]] = x`` (concatenation of features)."""
    n, m = x.shape
    for i in prange(n):
        for j in range(m):
            out[i, offset + j] = x[i, j]


@kernel
def take_columns(out, x, offset):
    """``out = x[:, offset:offset + out.shape[1]]`` (the gradient of a concatenation)."""
    n, m = out.shape
    for i in prange(n):
        for j in range(m):
            out[i, j] = x[i, offset + j]


@serial_kernel
def sum_squares(x, acc):
    """``acc[0] += sum(x**2)`` in float64: non-finite if any element is."""
    flat = x.reshape(-1)
    total = 0.0
    for i in range(flat.shape[0]):
        v = np.float64(flat[i])
        total += v * v
    acc[0] += total


@kernel
def take_scaled(out, x, idx, scale):
    """``out[k] = x[idx[k]] * scale`` (batch weights, normalized to sum to one)."""
    for k in prange(idx.shape[0]):
        out[k] = x[idx[k]] * scale


@serial_kernel
def fill(x, value):
    """``x[...] = value``."""
    flat = x.reshape(-1)
    for i in range(flat.shape[0]):
        flat[i] = value
