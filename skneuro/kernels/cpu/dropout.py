"""Inverted dropout: drop with probability ``rate``, scale survivors by 1/(1-rate).

The uniform draw of element ``i`` at training step ``step`` is
``hash_uniform(seed, step, i)`` (see :mod:`skneuro.kernels._random`): masks
are reproducible from ``random_state``, identical on CPU and GPU, and the
kernels hold no random state.
"""

import numba
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels._random import hash_uniform

_uniform = numba.njit(inline="always")(hash_uniform)


@kernel
def dropout_forward(x, seed, step, first_row, rate, out, mask):
    """``out = x * mask`` with ``mask = (u >= rate) / (1 - rate)``, kept for backward.

    Row ``i`` of ``x`` draws as row ``first_row + i`` of its batch, so a batch
    split into shards gets the masks it would get whole.
    """
    n, m = x.shape
    zero = x.dtype.type(0.0)
    scale = x.dtype.type(1.0) / (x.dtype.type(1.0) - rate)
    for i in prange(n):
        for j in range(m):
            keep = scale if _uniform(seed, step, (first_row + i) * m + j) >= rate else zero
            mask[i, j] = keep
            out[i, j] = x[i, j] * keep


@kernel
def dropout_backward(grad, mask, out):
    """``out = grad * mask``."""
    n, m = grad.shape
    for i in prange(n):
        for j in range(m):
            out[i, j] = grad[i, j] * mask[i, j]
