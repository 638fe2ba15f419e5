"""Gaussian draws for the autoencoders: input noise, and the reparameterization trick.

Standard normal numbers come from the counter-based generator of
:mod:`skneuro.kernels._random` by Box-Muller over two uniforms: element
``(i, j)`` of an ``m``-column batch, at training step ``step``, uses the
uniforms ``2 * q`` and ``2 * q + 1`` of ``(seed, step)``, where
``q = (first_row + i) * m + j``. ``first_row`` is where the rows start in
the whole batch, so a batch split into shards draws what it draws whole.
Kernels hold no random state; the same seed draws the same numbers on every
device.
"""

import numba
import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels._random import hash_uniform
from skneuro.kernels.codes import U_MIN

_uniform = numba.njit(inline="always")(hash_uniform)



@numba.njit(inline="always")
def _normal(seed, step, q):
    """Standard normal draw number ``q`` of ``(seed, step)``, in float64."""
    u1 = max(np.float64(_uniform(seed, step, 2 * q)), U_MIN)
    u2 = np.float64(_uniform(seed, step, 2 * q + 1))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@kernel
def gaussian_noise(x, seed, step, first_row, std, out):
    """``out = x + std * eps``, ``eps`` standard normal (x and out flat: (n, m))."""
    n, m = x.shape
    for i in prange(n):
        base = (first_row + i) * m
        for j in range(m):
            out[i, j] = x[i, j] + std * x.dtype.type(_normal(seed, step, base + j))


@kernel
def gaussian_sample_forward(stats, seed, step, first_row, sample, out, eps):
    """The reparameterization ``z = mu + exp(logvar / 2) * eps``.

    ``stats`` rows are ``[mu | logvar]`` (``2k`` columns), ``out`` and
    ``eps`` have ``k``. With ``sample`` False, ``z = mu`` and ``eps = 0``
    (prediction: the latent mean, without evaluating ``exp``).
    """
    n, k = out.shape
    half = stats.dtype.type(0.5)
    zero = stats.dtype.type(0.0)
    for i in prange(n):
        base = (first_row + i) * k
        for j in range(k):
            if sample:
                e = stats.dtype.type(_normal(seed, step, base + j))
                eps[i, j] = e
                out[i, j] = stats[i, j] + np.exp(half * stats[i, k + j]) * e
            else:
                eps[i, j] = zero
                out[i, j] = stats[i, j]


@kernel
def gaussian_sample_backward(grad, stats, eps, dstats):
    """Gradients of the reparameterization with respect to ``[mu | logvar]``.

    ``dz/dmu = 1`` and ``dz/dlogvar = exp(logvar / 2) * eps / 2``.
    """
    n, k = grad.shape
    half = stats.dtype.type(0.5)
    for i in prange(n):
        for j in range(k):
            g = grad[i, j]
            dstats[i, j] = g
            dstats[i, k + j] = g * half * np.exp(half * stats[i, k + j]) * eps[i, j]
