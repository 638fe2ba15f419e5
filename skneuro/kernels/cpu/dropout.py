"""Inverted dropout: drop with probability ``rate``, scale survivors by 1/(1-rate).

The uniform draws ``u`` come from the caller's seeded generator, so masks are
reproducible from ``random_state`` and kernels hold no random state.
"""

from numba import prange

from skneuro.kernels._jit import kernel


@kernel
def dropout_forward(x, u, rate, mask):
    """In place: ``x *= mask`` with ``mask = (u >= rate) / (1 - rate)``, kept for backward."""
    n, m = x.shape
    zero = x.dtype.type(0.0)
    scale = x.dtype.type(1.0) / (x.dtype.type(1.0) - rate)
    for i in prange(n):
        for j in range(m):
            keep = scale if u[i, j] >= rate else zero
            mask[i, j] = keep
            x[i, j] *= keep


@kernel
def dropout_backward(grad, mask):
    """In place: ``grad *= mask``."""
    n, m = grad.shape
    for i in prange(n):
        for j in range(m):
            grad[i, j] *= mask[i, j]
