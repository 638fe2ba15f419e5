"""Convolution kernels: im2col / col2im and the fused layout changes around the product.

A batch ``x`` of shape (N, C, H, W) is unfolded into ``cols`` of shape
(N*OH*OW, C*KH*KW): one row per output position, samples first. The
convolution is then one matrix product ``cols @ W`` (W of shape (C*KH*KW, F),
as a dense layer's), written as (N*OH*OW, F) and turned into (N, F, OH*OW) by
:func:`rows_to_channels`, fused with the bias and the activation. The
backward pass mirrors it: :func:`channels_to_rows` (fused with the activation
derivative), two products, and :func:`col2im`. Memory is bounded by the
batch. 1-D convolutions are 2-D ones with H = KH = 1.

Kernels parallel over samples write disjoint memory, so ``col2im``
accumulates each sample's overlapping windows in a fixed order.
"""

import numpy as np
from numba import prange

from skneuro.kernels._jit import FLT_MIN, kernel
from skneuro.kernels.cpu.activations import IDENTITY, LEAKY_RELU, RELU, SIGMOID, STEP, TANH


@kernel
def im2col(x, kh, kw, sh, sw, ph, pw, cols):
    """Unfold (N, C, H, W) into (N*OH*OW, C*KH*KW), zeros where the window leaves x."""
    n, c, h, w = x.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    zero = x.dtype.type(0.0)
    for s in prange(n):
        for i in range(oh):
            for j in range(ow):
                row = (s * oh + i) * ow + j
                col = 0
                for ch in range(c):
                    for di in range(kh):
                        y = i * sh - ph + di
                        for dj in range(kw):
                            xx = j * sw - pw + dj
                            if 0 <= y < h and 0 <= xx < w:
                                cols[row, col] = x[s, ch, y, xx]
                            else:
                                cols[row, col] = zero
                            col += 1


@kernel
def col2im(cols, kh, kw, sh, sw, ph, pw, dx):
    """Fold (N*OH*OW, C*KH*KW) back into (N, C, H, W), adding overlapping windows."""
    n, c, h, w = dx.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    for s in prange(n):
        dx[s] = dx.dtype.type(0.0)
        for i in range(oh):
            for j in range(ow):
                row = (s * oh + i) * ow + j
                col = 0
                for ch in range(c):
                    for di in range(kh):
                        y = i * sh - ph + di
                        for dj in range(kw):
                            xx = j * sw - pw + dj
                            if 0 <= y < h and 0 <= xx < w:
                                dx[s, ch, y, xx] += cols[row, col]
                            col += 1


@kernel
def rows_to_channels(y, b, code, param, out):
    """``out[n, f, p] = g(y[n*P + p, f] + b[f])``: bias, activation and layout in one pass."""
    n, f, p = out.shape
    one = out.dtype.type(1.0)
    zero = out.dtype.type(0.0)
    tiny = out.dtype.type(FLT_MIN)
    for s in prange(n):
        for q in range(p):
            r = s * p + q
            for k in range(f):
                v = y[r, k] + b[k]
                if code == IDENTITY:
                    a = v
                elif code == STEP:
                    a = one if v > zero else zero
                elif code == SIGMOID:
                    a = one / (one + np.exp(-param * v))
                    a = a if a >= tiny else zero
                elif code == TANH:
                    a = np.tanh(v)
                elif code == RELU:
                    a = max(v, zero)
                elif code == LEAKY_RELU:
                    a = v if v > zero else param * v
                else:
                    a = v
                out[s, k, q] = a


@kernel
def channels_to_rows(grad, a, code, param, delta):
    """``delta[n*P + p, f] = grad[n, f, p] * g'(h)``, written with ``a = g(h)``."""
    n, f, p = grad.shape
    one = grad.dtype.type(1.0)
    zero = grad.dtype.type(0.0)
    for s in prange(n):
        for q in range(p):
            r = s * p + q
            for k in range(f):
                g = grad[s, k, q]
                v = a[s, k, q]
                if code == STEP:
                    g = zero
                elif code == SIGMOID:
                    g = g * param * v * (one - v)
                elif code == TANH:
                    g = g * (one - v * v)
                elif code == RELU:
                    g = g if v > zero else zero
                elif code == LEAKY_RELU:
                    g = g if v > zero else param * g
                delta[r, k] = g
