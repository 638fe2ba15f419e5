"""Dense-layer kernels: matrix products and the bias-gradient reduction.

Matrix products go to BLAS through ``np.dot(..., out=...)``, which writes into
preallocated buffers. The bias gradient is a column sum computed over fixed
column blocks, each summed over rows in order, so its result does not depend
on the thread count.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel

_COLUMN_BLOCK = 16


def matmul(a, b, out):
    """``out = a @ b``."""
    np.dot(a, b, out=out)


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
