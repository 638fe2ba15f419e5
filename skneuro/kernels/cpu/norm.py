"""Group normalization over (N, C, P): per sample, per group of C/G channels.

``out = gamma[c] * (x - mean) / sqrt(var + eps) + beta[c]``, with the mean
and the (biased) variance of each sample's group over its channels and
positions. Layer normalization is the case G = 1. Statistics are per sample,
so a batch split into shards normalizes exactly as the whole batch.

Sums are accumulated in float64 (a group can hold thousands of values) and
in a fixed order. The parameter gradients sum over samples in order, in a
loop parallel over channels, so they do not depend on the thread count.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel


@kernel
def group_norm_forward(x, groups, gamma, beta, eps, out, xhat, inv_std):
    """Normalize ``x`` into ``out``; keep ``xhat`` (normalized) and ``inv_std`` (N, G)."""
    n, c, p = x.shape
    per = c // groups
    for s in prange(n):
        for g in range(groups):
            total = 0.0
            for ch in range(g * per, (g + 1) * per):
                for q in range(p):
                    total += np.float64(x[s, ch, q])
            mean = total / (per * p)
            spread = 0.0
            for ch in range(g * per, (g + 1) * per):
                for q in range(p):
                    d = np.float64(x[s, ch, q]) - mean
                    spread += d * d
            inv = 1.0 / np.sqrt(spread / (per * p) + eps)
            inv_std[s, g] = inv
            m = x.dtype.type(mean)
            r = x.dtype.type(inv)
            for ch in range(g * per, (g + 1) * per):
                scale = gamma[ch]
                shift = beta[ch]
                for q in range(p):
                    h = (x[s, ch, q] - m) * r
                    xhat[s, ch, q] = h
                    out[s, ch, q] = scale * h + shift


@kernel
def group_norm_backward(grad, xhat, inv_std, gamma, groups, dx, dgamma, dbeta):
    """Gradients with respect to the input, ``gamma`` and ``beta``.

    ``dx = inv_std * (d - mean(d) - xhat * mean(d * xhat))`` over each
    group, with ``d = grad * gamma``.
    """
    n, c, p = grad.shape
    per = c // groups
    for s in prange(n):
        for g in range(groups):
            sum_d = 0.0
            sum_dx = 0.0
            for ch in range(g * per, (g + 1) * per):
                scale = np.float64(gamma[ch])
                for q in range(p):
                    d = np.float64(grad[s, ch, q]) * scale
                    sum_d += d
                    sum_dx += d * np.float64(xhat[s, ch, q])
            count = per * p
            mean_d = grad.dtype.type(sum_d / count)
            mean_dx = grad.dtype.type(sum_dx / count)
            r = grad.dtype.type(inv_std[s, g])
            for ch in range(g * per, (g + 1) * per):
                scale = gamma[ch]
                for q in range(p):
                    dx[s, ch, q] = r * (grad[s, ch, q] * scale - mean_d
                                        - xhat[s, ch, q] * mean_dx)
    for ch in prange(c):
        a = 0.0
        b = 0.0
        for s in range(n):
            for q in range(p):
                gv = np.float64(grad[s, ch, q])
                a += gv * np.float64(xhat[s, ch, q])
                b += gv
        dgamma[ch] = a
        dbeta[ch] = b
