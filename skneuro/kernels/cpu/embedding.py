"""Kernels of the diffusion U-Net's plumbing: the sinusoidal time embedding and
the per-channel broadcast that adds it to feature maps."""

import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel


@kernel
def sinusoidal_embedding(t, max_period, out):
    """``out[n] = [sin(t_n * f_0..f_{h-1}), cos(t_n * f_0..f_{h-1})]``, ``f_k = P**(-k/h)``.

    ``h = out.shape[1] // 2`` frequencies from 1 down to ``1/max_period``
    (Vaswani et al.; Ho et al. embed the diffusion step this way). An odd
    width leaves its last column zero.
    """
    n, dim = out.shape
    half = dim // 2
    zero = out.dtype.type(0.0)
    for i in prange(n):
        ti = np.float64(t[i])
        for k in range(half):
            freq = np.exp(-np.log(np.float64(max_period)) * k / half)
            out[i, k] = out.dtype.type(np.sin(ti * freq))
            out[i, half + k] = out.dtype.type(np.cos(ti * freq))
        for k in range(2 * half, dim):
            out[i, k] = zero


@kernel
def add_channel_vector(x, e, out):
    """``out[n, c, p] = x[n, c, p] + e[n, c]``: a per-sample vector over the channels."""
    n, c, p = x.shape
    for s in prange(n):
        for ch in range(c):
            v = e[s, ch]
            src = x[s, ch]
            dst = out[s, ch]
            for q in range(p):
                dst[q] = src[q] + v


@kernel
def channel_sums(grad, out):
    """``out[n, c] = sum_p grad[n, c, p]`` (the gradient of the broadcast vector)."""
    n, c, p = grad.shape
    for s in prange(n):
        for ch in range(c):
            row = grad[s, ch]
            total = grad.dtype.type(0.0)
            for q in range(p):
                total += row[q]
            out[s, ch] = total


@kernel
def one_hot(labels, out):
    """``out[n, k] = 1`` where ``k == labels[n]`` (a float holding an int), else 0."""
    n, k = out.shape
    one = out.dtype.type(1.0)
    zero = out.dtype.type(0.0)
    for i in prange(n):
        label = int(labels[i])
        for j in range(k):
            out[i, j] = one if j == label else zero
