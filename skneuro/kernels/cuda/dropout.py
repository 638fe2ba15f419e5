"""CUDA siblings of :mod:`skneuro.kernels.cpu.dropout`: the same masks, bit for bit."""

import numpy as np
from numba import cuda

from skneuro._config import CUDA_SIMULATED
from skneuro.kernels._random import hash_uniform
from skneuro.kernels.cuda._launch import check_device, grid, kernel

if CUDA_SIMULATED:
    # The simulator runs device functions as Python over numpy scalars, which
    # warn when uint64 arithmetic wraps around; here wrapping is the point.
    def _wrapping_hash_uniform(seed, step, i):
        with np.errstate(over="ignore"):
            return hash_uniform(seed, step, i)

    _uniform = cuda.jit(device=True)(_wrapping_hash_uniform)
else:
    _uniform = cuda.jit(device=True)(hash_uniform)


@kernel
def _forward(x, seed, step, first_row, rate, out, mask):
    n, m = x.shape
    scale = 1.0 / (1.0 - rate)
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        keep = scale if _uniform(seed, step, first_row * m + k) >= rate else 0.0
        mask[i, j] = keep
        out[i, j] = x[i, j] * keep


@kernel
def _backward(grad, mask, out):
    n, m = grad.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * m, stride):
        i, j = k // m, k % m
        out[i, j] = grad[i, j] * mask[i, j]


def dropout_forward(x, seed, step, first_row, rate, out, mask):
    """``out = x * mask`` with ``mask = (u >= rate) / (1 - rate)``; rows from ``first_row``."""
    check_device(x, out, mask)
    _forward[grid(x.size)](x, seed, step, first_row, rate, out, mask)


def dropout_backward(grad, mask, out):
    """``out = grad * mask``."""
    check_device(grad, mask, out)
    _backward[grid(grad.size)](grad, mask, out)
