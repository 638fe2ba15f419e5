"""Group normalization over (N, C, P): per sample, per group of C/G channels.

``out = gamma[c] * (x - mean) / sqrt(var + eps) + beta[c]``, with the mean
and the (biased) variance of each sample's group over its channels and
positions. Layer normalization is the case G = 1. Statistics are per sample,
so a batch split into shards normalizes exactly as the whole batch.

An activation can follow in the same pass (``code``, as for the dense
kernels): a U-Net's GroupNorm + SiLU. The backward pass recomputes the
normalized output ``y = gamma * xhat + beta`` from ``xhat`` instead of keeping it.

Sums are accumulated in float64 (a group can hold thousands of values) and
in a fixed order. The parameter gradients sum over samples in order, in a
loop parallel over channels, so they do not depend on the thread count.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels.cpu.activations import (
    GELU,
    IDENTITY,
    SILU,
    activate_row,
    derivative_times_row,
)


@kernel
def group_norm_forward(x, groups, gamma, beta, eps, code, param, out, xhat, inv_std):
    """Normalize ``x`` and apply activation ``code`` into ``out``; keep ``xhat``
    (normalized) and ``inv_std`` (N, G)."""
    n, c, p = x.shape
    per = c // groups
    zero = out.dtype.type(0.0)
    count = per * p
    for s in prange(n):
        for g in range(groups):
            # A group's values are one contiguous run of the sample: one long
            # loop over a slice (slices, not x[s, ch, q]: the loops vectorize,
            # see kernels/cpu/conv.py; small planes make short rows).
            block = x[s].reshape(c * p)[g * count:(g + 1) * count]
            total = 0.0
            for k in range(count):
                total += np.float64(block[k])
            mean = total / count
            spread = 0.0
            for k in range(count):
                d = np.float64(block[k]) - mean
                spread += d * d
            inv = 1.0 / np.sqrt(spread / count + eps)
            inv_std[s, g] = inv
            m = x.dtype.type(mean)
            r = x.dtype.type(inv)
            for ch in range(g * per, (g + 1) * per):
                scale = gamma[ch]
                shift = beta[ch]
                row = x[s, ch]
                h = xhat[s, ch]
                o = out[s, ch]
                for q in range(p):
                    v = (row[q] - m) * r
                    h[q] = v
                    o[q] = scale * v + shift
            if code != IDENTITY:
                # Over the group's whole run, not row by row: LLVM's vector
                # loop takes 64 elements a step, and a 4x4 plane's 16 would
                # all go to its scalar remainder (2.7 -> 0.9 ns an element).
                run = out[s].reshape(c * p)[g * count:(g + 1) * count]
                activate_row(run, zero, code, param, run)


@kernel
def group_norm_backward(grad, xhat, inv_std, gamma, beta, groups, code, param, dx, dgamma,
                        dbeta):
    """Gradients with respect to the input, ``gamma`` and ``beta``.

    ``dx = inv_std * (d - mean(d) - xhat * mean(d * xhat))`` over each
    group, with ``d = dy * gamma`` and ``dy`` the gradient with respect to
    the normalized output (``grad`` times the activation's derivative,
    computed into ``dx`` first).
    """
    n, c, p = grad.shape
    per = c // groups
    zero = dx.dtype.type(0.0)
    dy = grad
    if code != IDENTITY:
        for s in prange(n):
            for ch in range(c):
                row = dx[s, ch]
                h = xhat[s, ch]
                scale = gamma[ch]
                shift = beta[ch]
                for q in range(p):
                    row[q] = scale * h[q] + shift
            # Whole samples at a time (see the forward pass).
            y = dx[s].reshape(c * p)
            if code != SILU and code != GELU:  # derivative from the output g(y)
                activate_row(y, zero, code, param, y)
            derivative_times_row(grad[s].reshape(c * p), y, code, param, y)
        dy = dx
    # The parameter gradients first: dx is overwritten below (and may hold dy).
    for ch in prange(c):
        a = 0.0
        b = 0.0
        for s in range(n):
            d = dy[s, ch]
            h = xhat[s, ch]
            for q in range(p):
                gv = np.float64(d[q])
                a += gv * np.float64(h[q])
                b += gv
        dgamma[ch] = a
        dbeta[ch] = b
    count = per * p
    for s in prange(n):
        for g in range(groups):
            sum_d = 0.0
            sum_dx = 0.0
            for ch in range(g * per, (g + 1) * per):
                scale = np.float64(gamma[ch])
                d = dy[s, ch]
                h = xhat[s, ch]
                row_d = 0.0
                row_dx = 0.0
                for q in range(p):
                    v = np.float64(d[q])
                    row_d += v
                    row_dx += v * np.float64(h[q])
                sum_d += row_d * scale
                sum_dx += row_dx * scale
            mean_d = dx.dtype.type(sum_d / count)
            mean_dx = dx.dtype.type(sum_dx / count)
            r = dx.dtype.type(inv_std[s, g])
            for ch in range(g * per, (g + 1) * per):
                scale = gamma[ch]
                d = dy[s, ch]
                h = xhat[s, ch]
                o = dx[s, ch]
                for q in range(p):
                    o[q] = r * (d[q] * scale - mean_d - h[q] * mean_dx)
