"""The layers between a U-Net's convolutions, in the lanes layout (C, H, W, NV).

A network runs a region of its graph in lanes (see
:meth:`skneuro.nn.Network.plan`): the convolutions of
:mod:`skneuro.kernels.cpu.lanes` and, between them, these kernels: the bias
and activation of a 1x1 convolution (a matrix product in this layout), group
normalization, the per-channel add of a time embedding,
average pooling and nearest upsampling (sums and concatenations along the
channel axis are plain copies and adds of whole arrays in this layout). The
data then changes layout once at the region's entry and once at its exit,
not around every convolution, and every loop runs over a contiguous vector of
samples, full-width even on a 4x4 plane.

Kernels take their arrays as (C, P, NV) (positions flattened) or (C, H, W,
NV), and run over all NV lanes: NV is a multiple of 32, so every loop over a
vector of samples is whole vectors, without a scalar remainder. Lanes past
the batch (``n..NV``) therefore carry what the layers compute from zeros
(an all-zero sample's values, less the time embedding, which adds nothing
there: finite, as a real sample's, a normalization's statistics being per
lane), which no real sample ever reads; their gradients are zero
(the region's output gradient enters with zeros there, and every backward
kernel maps zeros to zeros), so they add nothing to a parameter's gradient.

Each output element is written by one thread and every sum runs in a fixed
order, so results do not depend on the number of threads.
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
from skneuro.kernels.cpu.pool import clipped_window


@kernel
def bias_activation_lanes(y, b, code, param, out):
    """``out[f, p, s] = g(y[f, p, s] + b[f])`` over (F, P, NV) arrays; ``out`` may be ``y``."""
    n_filters, p, nv = y.shape
    for f in prange(n_filters):
        # The whole plane in one loop: LLVM's vector loop takes 64 values a step.
        activate_row(y[f].reshape(p * nv), b[f], code, param, out[f].reshape(p * nv))


@kernel
def group_norm_lanes_forward(x, groups, gamma, beta, eps, code, param, out, xhat, inv_std):
    """Group normalization of ``x`` (C, P, NV), then activation ``code``, into ``out``.

    Keeps ``xhat`` (the normalized input) and ``inv_std`` (G, NV), float64,
    for the backward pass. Each lane's group statistics are sums in float64,
    as vectors over the samples, in two passes (the mean, then the squares
    about it: one pass, E[x^2] - E[x]^2, loses the variance of data far from
    zero), as :func:`skneuro.kernels.cpu.norm.group_norm_forward` does.
    """
    c, p, nv = x.shape
    per = c // groups
    count = per * p
    dtype = x.dtype.type
    zero = dtype(0.0)
    for g in prange(groups):
        total = np.zeros(nv)
        for ch in range(g * per, (g + 1) * per):
            for q in range(p):
                row = x[ch, q]
                for s in range(nv):
                    total[s] += np.float64(row[s])
        mean = total / count
        spread = np.zeros(nv)
        for ch in range(g * per, (g + 1) * per):
            for q in range(p):
                row = x[ch, q]
                for s in range(nv):
                    d = np.float64(row[s]) - mean[s]
                    spread[s] += d * d
        m = np.empty(nv, x.dtype)
        r = np.empty(nv, x.dtype)
        for s in range(nv):
            inv = 1.0 / np.sqrt(spread[s] / count + eps)
            inv_std[g, s] = inv
            m[s] = dtype(mean[s])
            r[s] = dtype(inv)
        scale = np.empty(nv, x.dtype)
        for ch in range(g * per, (g + 1) * per):
            # gamma * (x - mean) * inv + beta with the channel's factor per lane
            # (not x * scale + shift: that cancels when x is near the mean).
            shift = beta[ch]
            for s in range(nv):
                scale[s] = gamma[ch] * r[s]
            for q in range(p):
                row = x[ch, q]
                o = out[ch, q]
                h = xhat[ch, q]
                for s in range(nv):
                    v = row[s] - m[s]
                    h[s] = v * r[s]
                    o[s] = v * scale[s] + shift
            if code != IDENTITY:
                plane = out[ch].reshape(p * nv)
                activate_row(plane, zero, code, param, plane)


@kernel
def group_norm_lanes_backward(grad, xhat, inv_std, gamma, beta, groups, code, param, dx,
                              dgamma, dbeta):
    """Gradients of :func:`group_norm_lanes_forward` (``grad``, ``dx``: (C, P, NV)).

    ``dx = inv_std * (d - mean(d) - xhat * mean(d * xhat))`` over each
    sample's group, with ``d = dy * gamma`` and ``dy`` the gradient with
    respect to the normalized output (computed into ``dx`` first when there
    is an activation). ``dgamma`` and ``dbeta`` sum over positions and lanes.
    """
    c, p, nv = grad.shape
    per = c // groups
    count = per * p
    dtype = dx.dtype.type
    zero = dtype(0.0)
    dy = grad
    if code != IDENTITY:
        for ch in prange(c):
            plane = dx[ch].reshape(p * nv)
            h = xhat[ch].reshape(p * nv)
            scale = gamma[ch]
            shift = beta[ch]
            for k in range(p * nv):
                plane[k] = scale * h[k] + shift
            if code != SILU and code != GELU:  # derivative from the output g(y)
                activate_row(plane, zero, code, param, plane)
            derivative_times_row(grad[ch].reshape(p * nv), plane, code, param, plane)
        dy = dx
    # The parameter gradients first: dx is overwritten below (and may hold dy).
    for ch in prange(c):
        a = np.zeros(nv)
        b = np.zeros(nv)
        for q in range(p):
            d = dy[ch, q]
            h = xhat[ch, q]
            for s in range(nv):
                gv = np.float64(d[s])
                a[s] += gv * np.float64(h[s])
                b[s] += gv
        dgamma[ch] = a.sum()
        dbeta[ch] = b.sum()
    for g in prange(groups):
        sum_d = np.zeros(nv)
        sum_dx = np.zeros(nv)
        for ch in range(g * per, (g + 1) * per):
            scale = np.float64(gamma[ch])
            for q in range(p):
                d = dy[ch, q]
                h = xhat[ch, q]
                for s in range(nv):
                    v = np.float64(d[s]) * scale
                    sum_d[s] += v
                    sum_dx[s] += v * np.float64(h[s])
        mean_d = np.empty(nv, dx.dtype)
        mean_dx = np.empty(nv, dx.dtype)
        r = np.empty(nv, dx.dtype)
        for s in range(nv):
            mean_d[s] = dtype(sum_d[s] / count)
            mean_dx[s] = dtype(sum_dx[s] / count)
            r[s] = dtype(inv_std[g, s])
        for ch in range(g * per, (g + 1) * per):
            scale = gamma[ch]
            for q in range(p):
                d = dy[ch, q]
                h = xhat[ch, q]
                o = dx[ch, q]
                for s in range(nv):
                    o[s] = r[s] * (d[s] * scale - mean_d[s] - h[s] * mean_dx[s])


@kernel
def add_channel_vector_lanes(x, e, out):
    """``out[c, p, s] = x[c, p, s] + e[s, c]`` for the N rows of ``e`` (nothing added
    past them)."""
    c, p, nv = x.shape
    n = e.shape[0]
    for ch in prange(c):
        column = np.zeros(nv, x.dtype)
        for s in range(n):
            column[s] = e[s, ch]
        for q in range(p):
            src = x[ch, q]
            dst = out[ch, q]
            for s in range(nv):
                dst[s] = src[s] + column[s]


@kernel
def channel_sums_lanes(grad, out):
    """``out[s, c] = sum_p grad[c, p, s]`` for the N rows of ``out``."""
    c, p, nv = grad.shape
    n = out.shape[0]
    for ch in prange(c):
        total = np.zeros(n, grad.dtype)
        for q in range(p):
            row = grad[ch, q]
            for s in range(n):
                total[s] += row[s]
        for s in range(n):
            out[s, ch] = total[s]


@kernel
def avg_pool_lanes_forward(x, kh, kw, sh, sw, out):
    """Window means of ``x`` (C, H, W, NV) into ``out`` (C, OH, OW, NV), windows
    clipped at the edges as in :func:`skneuro.kernels.cpu.pool.avg_pool_forward`."""
    c, h, w, nv = x.shape
    oh, ow = out.shape[1], out.shape[2]
    dtype = out.dtype.type
    for ch in prange(c):
        for i in range(oh):
            for j in range(ow):
                y0, y1, x0, x1, cells = clipped_window(i, j, kh, kw, sh, sw, h, w)
                count = dtype(cells)
                o = out[ch, i, j]
                for s in range(nv):
                    o[s] = dtype(0.0)
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        row = x[ch, y, xx]
                        for s in range(nv):
                            o[s] += row[s]
                for s in range(nv):
                    o[s] = o[s] / count


@kernel
def avg_pool_lanes_backward(grad, kh, kw, sh, sw, dx):
    """Spread each output's gradient evenly over its window (``dx``: (C, H, W, NV))."""
    c, h, w, nv = dx.shape
    oh, ow = grad.shape[1], grad.shape[2]
    dtype = dx.dtype.type
    for ch in prange(c):
        plane = dx[ch].reshape(h * w * nv)
        for k in range(h * w * nv):
            plane[k] = dtype(0.0)
        for i in range(oh):
            for j in range(ow):
                y0, y1, x0, x1, cells = clipped_window(i, j, kh, kw, sh, sw, h, w)
                count = dtype(cells)
                g = grad[ch, i, j]
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        d = dx[ch, y, xx]
                        for s in range(nv):
                            d[s] += g[s] / count


@kernel
def max_pool_lanes_forward(x, kh, kw, sh, sw, out, argmax):
    """Window maxima of ``x`` (C, H, W, NV) into ``out`` (C, OH, OW, NV), and in
    ``argmax`` (int32, same shape) their flat index ``y * W + x`` in the plane:
    :func:`skneuro.kernels.cpu.pool.max_pool_forward` in lanes (windows
    clipped at the edges, ties to the first in window order), a vector of
    samples at a time."""
    c, h, w, nv = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for ch in prange(c):
        for i in range(oh):
            for j in range(ow):
                y0, y1, x0, x1, _ = clipped_window(i, j, kh, kw, sh, sw, h, w)
                best = out[ch, i, j]
                where = argmax[ch, i, j]
                first = x[ch, y0, x0]
                for s in range(nv):
                    best[s] = first[s]
                    where[s] = y0 * w + x0
                for y in range(y0, y1):
                    for xx in range(x0, x1):
                        row = x[ch, y, xx]
                        at = y * w + xx
                        for s in range(nv):
                            better = row[s] > best[s]
                            best[s] = row[s] if better else best[s]
                            where[s] = at if better else where[s]


@kernel
def max_pool_lanes_backward(grad, argmax, dx):
    """Route each output's gradient to the input that was its maximum (``dx``:
    (C, H, W, NV)), outputs in the order of
    :func:`skneuro.kernels.cpu.pool.max_pool_backward`."""
    c, h, w, nv = dx.shape
    oh, ow = grad.shape[1], grad.shape[2]
    dtype = dx.dtype.type
    for ch in prange(c):
        plane = dx[ch].reshape(h * w * nv)
        for k in range(h * w * nv):
            plane[k] = dtype(0.0)
        for i in range(oh):
            for j in range(ow):
                g = grad[ch, i, j]
                where = argmax[ch, i, j]
                for s in range(nv):
                    k = where[s]
                    plane[k * nv + s] += g[s]  # k = y * W + x


@kernel
def upsample_lanes_forward(x, sh, sw, out):
    """``out[c, i, j, s] = x[c, i // sh, j // sw, s]`` (nearest neighbour)."""
    c, h, w, nv = x.shape
    for ch in prange(c):
        for i in range(h * sh):
            for j in range(w * sw):
                src = x[ch, i // sh, j // sw]
                dst = out[ch, i, j]
                for s in range(nv):
                    dst[s] = src[s]


@kernel
def upsample_lanes_backward(grad, sh, sw, dx):
    """``dx[c, y, x, s]`` = the sum of ``grad`` over the ``sh x sw`` block of (y, x),
    rows then columns, as :func:`skneuro.kernels.cpu.resample.upsample_nearest_backward`."""
    c, h, w, nv = dx.shape
    dtype = dx.dtype.type
    for ch in prange(c):
        for y in range(h):
            for xx in range(w):
                d = dx[ch, y, xx]
                for s in range(nv):
                    d[s] = dtype(0.0)
                for a in range(sh):
                    for b in range(sw):
                        g = grad[ch, y * sh + a, xx * sw + b]
                        for s in range(nv):
                            d[s] += g[s]
