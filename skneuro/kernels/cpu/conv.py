"""Convolution kernels: im2col / col2im and the fused layout changes around the product.

A batch ``x`` of shape (N, C, H, W) is unfolded into ``cols`` of shape
(C*KH*KW, N*OH*OW): one row per filter tap (channel, row, column of the
window), one column per output position, samples first (Caffe's im2col, with
the batch side by side). The convolution is one matrix product
``W.T @ cols`` (W of shape (C*KH*KW, F), as a dense layer's), which comes out
channel-major, (F, N*OH*OW), and :func:`channels_to_samples` turns it into
(N, F, OH*OW), fused with the bias and the activation. The backward pass
mirrors it: :func:`samples_to_channels` (fused with the activation
derivative), two products, and :func:`col2im`. Memory is bounded by the batch.
1-D convolutions are 2-D ones with H = KH = 1.

Why this orientation: every loop below runs along an image row, contiguous
in memory on both sides (for stride 1), with the padding handled by loop
bounds rather than a test per element, so the loops vectorize. The transposed
orientation, one row per output position, wrote with a stride of C*KH*KW and
took ten times longer than the product itself for the few-channel layers.

Kernels parallel over samples write disjoint memory, so ``col2im`` adds each
sample's overlapping windows in a fixed order.
"""

import numba
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels.cpu.activations import activate_row, derivative_times_row


def output_size(size, k, s, p):
    """Output length of a convolution window ``k``, stride ``s``, padding ``p``."""
    return (size + 2 * p - k) // s + 1


def _columns_inside(w, ow, sw, pw, dj):
    """Output columns ``[lo, hi)`` whose input column ``j*sw - pw + dj`` is inside ``[0, w)``."""
    lo = 0 if pw - dj <= 0 else (pw - dj + sw - 1) // sw
    last = w - 1 + pw - dj
    hi = 0 if last < 0 else min(ow, last // sw + 1)
    return min(lo, hi), hi


_inside = numba.njit(inline="always")(_columns_inside)


@kernel
def im2col(x, kh, kw, sh, sw, ph, pw, cols):
    """Unfold (N, C, H, W) into (C*KH*KW, N*OH*OW), zeros where the window leaves x."""
    n, c, h, w = x.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    zero = x.dtype.type(0.0)
    for tap in prange(c * kh * kw):
        ch = tap // (kh * kw)
        di = (tap // kw) % kh
        dj = tap % kw
        lo, hi = _inside(w, ow, sw, pw, dj)
        shift = dj - pw
        dest = cols[tap]
        for s in range(n):
            for i in range(oh):
                base = (s * oh + i) * ow
                y = i * sh - ph + di
                if y < 0 or y >= h:
                    for j in range(ow):
                        dest[base + j] = zero
                    continue
                src = x[s, ch, y]
                for j in range(lo):
                    dest[base + j] = zero
                if sw == 1:  # as base + k: a possibly negative index would not vectorize
                    first = lo + shift
                    for k in range(hi - lo):
                        dest[base + lo + k] = src[first + k]
                else:
                    for j in range(lo, hi):
                        dest[base + j] = src[j * sw + shift]
                for j in range(hi, ow):
                    dest[base + j] = zero


@kernel
def col2im(cols, kh, kw, sh, sw, ph, pw, dx):
    """Fold (C*KH*KW, N*OH*OW) back into (N, C, H, W), adding overlapping windows."""
    n, c, h, w = dx.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    zero = dx.dtype.type(0.0)
    for s in prange(n):
        sample = dx[s]
        for ch in range(c):
            for y in range(h):
                for xx in range(w):
                    sample[ch, y, xx] = zero
        for tap in range(c * kh * kw):
            ch = tap // (kh * kw)
            di = (tap // kw) % kh
            dj = tap % kw
            lo, hi = _inside(w, ow, sw, pw, dj)
            shift = dj - pw
            src = cols[tap]
            for i in range(oh):
                y = i * sh - ph + di
                if y < 0 or y >= h:
                    continue
                base = (s * oh + i) * ow
                dest = sample[ch, y]
                if sw == 1:
                    first = lo + shift
                    for k in range(hi - lo):
                        dest[first + k] += src[base + lo + k]
                else:
                    for j in range(lo, hi):
                        dest[j * sw + shift] += src[base + j]


@kernel
def flip_filters(W, c, kh, kw, out):
    """``out[(f, di, dj), ch] = W[(ch, kh-1-di, kw-1-dj), f]``: the weights of the
    convolution that maps an output gradient back to the input (the transposed
    convolution of stride 1 is a convolution with flipped, transposed filters).
    """
    n_filters = W.shape[1]
    for f in prange(n_filters):
        for di in range(kh):
            for dj in range(kw):
                row = out[(f * kh + di) * kw + dj]
                for ch in range(c):
                    row[ch] = W[(ch * kh + kh - 1 - di) * kw + kw - 1 - dj, f]


@kernel
def channels_to_samples(y, b, code, param, out):
    """``out[n, f, i, j] = g(y[f, n, i, j] + b[f])``: bias, activation and layout in one pass.

    ``y`` is the channel-major product, (F, N, OH, RW) with ``RW >= OW``
    positions per output row, of which the first OW are used.
    """
    n, f, oh, ow = out.shape
    for s in prange(n):
        for k in range(f):
            for i in range(oh):
                activate_row(y[k, s, i, :ow], b[k], code, param, out[s, k, i])


@kernel
def samples_to_channels(grad, a, code, param, delta):
    """``delta[f, n, i, j] = grad[n, f, i, j] * g'(h)`` with ``a = g(h)``; zeros for ``j >= OW``."""
    n, f, oh, ow = grad.shape
    rw = delta.shape[3]
    zero = delta.dtype.type(0.0)
    for k in prange(f):
        for s in range(n):
            for i in range(oh):
                row = delta[k, s, i]
                derivative_times_row(grad[s, k, i], a[s, k, i], code, param, row[:ow])
                for j in range(ow, rw):
                    row[j] = zero


@kernel
def channel_bias_activation(x, b, code, param, out):
    """``out[n, f, p] = g(x[n, f, p] + b[f])`` over sample-major (N, F, P); ``out`` may be ``x``.

    The bias and activation of a transposed convolution, whose ``col2im``
    output is already in the samples' layout.
    """
    n, f, p = x.shape
    for s in prange(n):
        for k in range(f):
            activate_row(x[s, k], b[k], code, param, out[s, k])
