"""Pooling kernels over (N, C, H, W).

Windows that run past the input's edge are clipped rather than dropped, so a
pooling layer never shrinks an axis below 1 (a 2x2 pooling of a 1x1 input is
the identity): the output has ``pooled_size(H, KH, SH)`` rows. Kernels are
parallel over samples; each sample's gradient is written by one thread, in a
fixed order.
"""

import numba
from numba import prange

from skneuro.kernels._jit import kernel


@numba.njit(inline="always")
def clipped_window(i, j, kh, kw, sh, sw, h, w):
    """Rows ``y0:y1`` and columns ``x0:x1`` of output (i, j)'s window, clipped to
    the (h, w) input; also the number of inputs in it, for the mean."""
    y0 = i * sh
    x0 = j * sw
    y1 = min(y0 + kh, h)
    x1 = min(x0 + kw, w)
    return y0, y1, x0, x1, (y1 - y0) * (x1 - x0)


@kernel
def max_pool_forward(x, kh, kw, sh, sw, out, argmax):
    """``out`` = window maxima; ``argmax`` = their flat index ``y * W + x`` in the input."""
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    if kh == 2 and kw == 2 and sh == 2 and sw == 2 and h % 2 == 0 and w % 2 == 0:
        # The common 2x2 case without clipped windows: four values, no
        # inner loops (twice as fast). Ties go to the first in window order,
        # as in the general loop below.
        for s in prange(n):
            for ch in range(c):
                for i in range(oh):
                    top = x[s, ch, 2 * i]
                    bottom = x[s, ch, 2 * i + 1]
                    for j in range(ow):
                        best = top[2 * j]
                        where = 2 * i * w + 2 * j
                        if top[2 * j + 1] > best:
                            best = top[2 * j + 1]
                            where = 2 * i * w + 2 * j + 1
                        if bottom[2 * j] > best:
                            best = bottom[2 * j]
                            where = (2 * i + 1) * w + 2 * j
                        if bottom[2 * j + 1] > best:
                            best = bottom[2 * j + 1]
                            where = (2 * i + 1) * w + 2 * j + 1
                        out[s, ch, i, j] = best
                        argmax[s, ch, i, j] = where
        return
    for s in prange(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    y0, y1, x0, x1, _ = clipped_window(i, j, kh, kw, sh, sw, h, w)
                    best = x[s, ch, y0, x0]
                    where = y0 * w + x0
                    for y in range(y0, y1):
                        for xx in range(x0, x1):
                            if x[s, ch, y, xx] > best:
                                best = x[s, ch, y, xx]
                                where = y * w + xx
                    out[s, ch, i, j] = best
                    argmax[s, ch, i, j] = where


@kernel
def max_pool_backward(grad, argmax, dx):
    """Route each output's gradient to the input that was its maximum."""
    n, c, h, w = dx.shape
    oh, ow = grad.shape[2], grad.shape[3]
    for s in prange(n):
        dx[s] = dx.dtype.type(0.0)
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    k = argmax[s, ch, i, j]
                    dx[s, ch, k // w, k % w] += grad[s, ch, i, j]


@kernel
def avg_pool_forward(x, kh, kw, sh, sw, out):
    """``out`` = window means (over the part of the window inside the input)."""
    n, c, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    for s in prange(n):
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    y0, y1, x0, x1, count = clipped_window(i, j, kh, kw, sh, sw, h, w)
                    acc = x.dtype.type(0.0)
                    for y in range(y0, y1):
                        for xx in range(x0, x1):
                            acc += x[s, ch, y, xx]
                    out[s, ch, i, j] = acc / x.dtype.type(count)


@kernel
def avg_pool_backward(grad, kh, kw, sh, sw, dx):
    """Spread each output's gradient evenly over its window."""
    n, c, h, w = dx.shape
    oh, ow = grad.shape[2], grad.shape[3]
    for s in prange(n):
        dx[s] = dx.dtype.type(0.0)
        for ch in range(c):
            for i in range(oh):
                for j in range(ow):
                    y0, y1, x0, x1, count = clipped_window(i, j, kh, kw, sh, sw, h, w)
                    share = grad[s, ch, i, j] / dx.dtype.type(count)
                    for y in range(y0, y1):
                        for xx in range(x0, x1):
                            dx[s, ch, y, xx] += share
