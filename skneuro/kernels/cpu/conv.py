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
def pad(x, ph, pw, xp):
    """Copy (N, C, H, W) into the flat zero-padded ``xp``: planes of (H+2ph) x (W+2pw).

    ``xp`` may be longer than the planes; its tail is zeroed (the wide unfold
    reads up to KW-1 elements past the last plane, into garbage positions).
    """
    n, c, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    plane = hp * wp
    zero = xp.dtype.type(0.0)
    for s in prange(n):
        for ch in range(c):
            # Slices rather than computed indices (see im2col_wide).
            dest = xp[(s * c + ch) * plane:(s * c + ch + 1) * plane]
            for k in range(plane):
                dest[k] = zero
            for y in range(h):
                row = dest[(y + ph) * wp + pw:(y + ph) * wp + pw + w]
                src = x[s, ch, y]
                for j in range(w):
                    row[j] = src[j]
    tail = xp[n * c * plane:]
    for k in range(tail.shape[0]):
        tail[k] = zero


@kernel
def unpad(xp, ph, pw, x):
    """The inverse of :func:`pad`: copy the inside of each padded plane into (N, C, H, W)."""
    n, c, h, w = x.shape
    hp, wp = h + 2 * ph, w + 2 * pw
    for s in prange(n):
        for ch in range(c):
            base = (s * c + ch) * hp * wp
            for y in range(h):
                row = xp[base + (y + ph) * wp + pw:base + (y + ph) * wp + pw + w]
                dest = x[s, ch, y]
                for j in range(w):
                    dest[j] = row[j]


@kernel
def im2col_wide(xp, n, c, hp, wp, kh, kw, rw, cols):
    """Unfold padded planes for a stride-1 convolution, ``rw`` positions per output row.

    ``cols[(ch, di, dj), (s, i, j)] = xp[s, ch, i + di, j + dj]`` for ``j < rw``,
    with ``OW <= rw <= wp``. With ``rw = wp`` (the wide layout) each output row
    also gets ``kw - 1`` positions past its end (garbage that the layout
    kernels skip), so that one tap of one sample is a single contiguous copy
    of ``oh * wp`` elements; with ``rw = OW`` there is no garbage (a row-by-row
    copy, and a product with fewer columns: better for small planes, where
    the garbage is a large share).
    """
    oh = hp - kh + 1
    span = oh * rw
    for tap in prange(c * kh * kw):
        ch = tap // (kh * kw)
        di = (tap // kw) % kh
        dj = tap % kw
        for s in range(n):
            # Slices, not ``xp[src + k]``: Numba checks a computed index for
            # wraparound, and that test per element stops vectorization (6x).
            src = (s * c + ch) * hp * wp + di * wp + dj
            dest = cols[tap, s * span:(s + 1) * span]
            if rw == wp:
                x = xp[src:src + span]
                for k in range(span):
                    dest[k] = x[k]
            else:
                for i in range(oh):
                    x = xp[src + i * wp:src + i * wp + rw]
                    d = dest[i * rw:(i + 1) * rw]
                    for k in range(rw):
                        d[k] = x[k]


@kernel
def col2im_wide(cols, n, c, hp, wp, kh, kw, rw, dxp):
    """The transpose of :func:`im2col_wide`: add every tap back into the padded planes.

    Garbage positions (``j >= OW``) must hold zeros in ``cols`` (they do when
    ``cols`` is a product with a gradient whose garbage positions are zero).
    """
    oh = hp - kh + 1
    ow = wp - kw + 1
    span = oh * rw
    plane = hp * wp
    zero = dxp.dtype.type(0.0)
    for s in prange(n):
        planes = dxp[s * c * plane:(s + 1) * c * plane]
        for k in range(planes.shape[0]):
            planes[k] = zero
        if s == n - 1:
            tail = dxp[n * c * plane:]
            for k in range(tail.shape[0]):
                tail[k] = zero
        for ch in range(c):
            for di in range(kh):
                t = (ch * kh + di) * kw
                dest = dxp[(s * c + ch) * plane + di * wp:(s * c + ch + 1) * plane]
                if rw == wp:
                    # One pass over the sample's rows as one run (garbage
                    # positions add zeros into the padding).
                    _fold_row(cols, t, kw, s * span, span, dest)
                else:
                    for i in range(oh):
                        _fold_row(cols, t, kw, s * span + i * rw, ow, dest[i * wp:])


@numba.njit(inline="always")
def _fold_row(cols, t, kw, start, length, dest):
    """``dest[q + dj] += cols[t + dj, start + q]`` for ``q < length``, ``dj < kw``.

    With kw = 3, the three taps are added in one pass (one load and store of
    ``dest``, not three), through slices (see :func:`im2col_wide`). Additions
    that would land past ``dest`` are skipped: they come from garbage
    positions (zeros) and would write into memory of the next plane, which
    another thread may own.
    """
    size = min(length + kw - 1, dest.shape[0])
    if kw == 3 and length >= 3:
        r0 = cols[t, start:start + length]
        r1 = cols[t + 1, start:start + length]
        r2 = cols[t + 2, start:start + length]
        dest[0] += r0[0]
        dest[1] += r0[1] + r1[0]
        body = dest[2:length]
        for q in range(length - 2):
            body[q] += r0[q + 2] + r1[q + 1] + r2[q]
        if size > length:
            dest[length] += r1[length - 1] + r2[length - 2]
        if size > length + 1:
            dest[length + 1] += r2[length - 1]
    else:
        for dj in range(kw):
            stop = min(length, size - dj)
            src = cols[t + dj, start:start + stop]
            d = dest[dj:dj + stop]
            for k in range(stop):
                d[k] += src[k]


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
    positions per output row (``RW > OW`` for the wide unfold).
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


# -- direct convolution, for few channels ----------------------------------------
# The unfold above multiplies the data by KH*KW before a product that, with
# few channels, is too narrow for BLAS to run fast. The kernels below read
# the padded planes in place (the same wide positions as im2col_wide) and
# keep the KW taps of a window row in registers: for KW = 3 and 5 the
# inner loop is written out, because LLVM vectorizes the loop over positions
# only when the loop over taps inside it is unrolled.


@kernel
def conv_direct(xp, W, n, c, hp, wp, kh, kw, product):
    """``product[f, (s, q)] = sum_tap W[tap, f] * xp[s, ch, di*wp + dj + q]`` (stride 1).

    ``xp`` holds padded planes as written by :func:`pad`; ``product`` is the
    channel-major wide product that :func:`im2col_wide` + a matrix product
    would give, (F, N*OH*WP). Filters go in pairs: both read the same KW
    input values, which halves the loads per multiply-add (51 -> 81 GFLOP/s
    on one core for 6 -> 16 channels, 5x5).
    """
    n_filters = W.shape[1]
    span = (hp - kh + 1) * wp
    plane = hp * wp
    zero = product.dtype.type(0.0)
    for s in prange(n):
        for f in range(0, n_filters, 2):
            pair = f + 1 < n_filters and (kw == 5 or kw == 3)
            o = product[f, s * span:(s + 1) * span]
            p = product[f + 1 if pair else f, s * span:(s + 1) * span]
            for q in range(span):
                o[q] = zero
                p[q] = zero
            for ch in range(c):
                for di in range(kh):
                    start = (s * c + ch) * plane + di * wp
                    x = xp[start:start + span + kw - 1]
                    t = (ch * kh + di) * kw
                    if pair and kw == 5:
                        a0, a1, a2, a3, a4 = W[t, f], W[t + 1, f], W[t + 2, f], \
                            W[t + 3, f], W[t + 4, f]
                        b0, b1, b2, b3, b4 = W[t, f + 1], W[t + 1, f + 1], W[t + 2, f + 1], \
                            W[t + 3, f + 1], W[t + 4, f + 1]
                        for q in range(span):
                            x0, x1, x2, x3, x4 = x[q], x[q + 1], x[q + 2], x[q + 3], x[q + 4]
                            o[q] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3 + a4 * x4
                            p[q] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3 + b4 * x4
                    elif pair:  # kw == 3
                        a0, a1, a2 = W[t, f], W[t + 1, f], W[t + 2, f]
                        b0, b1, b2 = W[t, f + 1], W[t + 1, f + 1], W[t + 2, f + 1]
                        for q in range(span):
                            x0, x1, x2 = x[q], x[q + 1], x[q + 2]
                            o[q] += a0 * x0 + a1 * x1 + a2 * x2
                            p[q] += b0 * x0 + b1 * x1 + b2 * x2
                    else:  # an odd last filter, or another window width
                        for dj in range(kw):
                            wv = W[t + dj, f]
                            for q in range(span):
                                o[q] += wv * x[q + dj]
            if not pair and f + 1 < n_filters:
                # Unpaired widths run the second filter of the pair on its own.
                o = product[f + 1, s * span:(s + 1) * span]
                for q in range(span):
                    o[q] = zero
                for ch in range(c):
                    for di in range(kh):
                        start = (s * c + ch) * plane + di * wp
                        x = xp[start:start + span + kw - 1]
                        t = (ch * kh + di) * kw
                        for dj in range(kw):
                            wv = W[t + dj, f + 1]
                            for q in range(span):
                                o[q] += wv * x[q + dj]


@kernel
def conv_direct_weight_grad(xp, delta, n, c, hp, wp, kh, kw, dW):
    """``dW[tap, f] = sum_(s, q) xp[s, ch, di*wp + dj + q] * delta[f, (s, q)]``.

    ``delta`` is the wide channel-major gradient, zero at garbage positions.
    Each weight's sum runs over samples in order (a fixed order at any number
    of threads: the parallel loop is over pairs of filters, which share
    their loads of ``xp`` as in :func:`conv_direct`).
    """
    n_filters = dW.shape[1]
    span = (hp - kh + 1) * wp
    plane = hp * wp
    zero = dW.dtype.type(0.0)
    for fp in prange((n_filters + 1) // 2):
        f = 2 * fp
        pair = f + 1 < n_filters and (kw == 5 or kw == 3)
        for ch in range(c):
            for di in range(kh):
                t = (ch * kh + di) * kw
                if pair and kw == 5:
                    a0 = a1 = a2 = a3 = a4 = zero
                    b0 = b1 = b2 = b3 = b4 = zero
                    for s in range(n):
                        start = (s * c + ch) * plane + di * wp
                        x = xp[start:start + span + 4]
                        d = delta[f, s * span:(s + 1) * span]
                        e = delta[f + 1, s * span:(s + 1) * span]
                        for q in range(span):
                            x0, x1, x2, x3, x4 = x[q], x[q + 1], x[q + 2], x[q + 3], x[q + 4]
                            g = d[q]
                            h = e[q]
                            a0 += x0 * g
                            a1 += x1 * g
                            a2 += x2 * g
                            a3 += x3 * g
                            a4 += x4 * g
                            b0 += x0 * h
                            b1 += x1 * h
                            b2 += x2 * h
                            b3 += x3 * h
                            b4 += x4 * h
                    dW[t, f], dW[t + 1, f], dW[t + 2, f], dW[t + 3, f], dW[t + 4, f] = \
                        a0, a1, a2, a3, a4
                    dW[t, f + 1], dW[t + 1, f + 1], dW[t + 2, f + 1], dW[t + 3, f + 1], \
                        dW[t + 4, f + 1] = b0, b1, b2, b3, b4
                elif pair:  # kw == 3
                    a0 = a1 = a2 = zero
                    b0 = b1 = b2 = zero
                    for s in range(n):
                        start = (s * c + ch) * plane + di * wp
                        x = xp[start:start + span + 2]
                        d = delta[f, s * span:(s + 1) * span]
                        e = delta[f + 1, s * span:(s + 1) * span]
                        for q in range(span):
                            x0, x1, x2 = x[q], x[q + 1], x[q + 2]
                            g = d[q]
                            h = e[q]
                            a0 += x0 * g
                            a1 += x1 * g
                            a2 += x2 * g
                            b0 += x0 * h
                            b1 += x1 * h
                            b2 += x2 * h
                    dW[t, f], dW[t + 1, f], dW[t + 2, f] = a0, a1, a2
                    dW[t, f + 1], dW[t + 1, f + 1], dW[t + 2, f + 1] = b0, b1, b2
                else:  # one filter at a time: an odd last one, or another width
                    for g_f in range(f, min(f + 2, n_filters)):
                        for dj in range(kw):
                            acc = zero
                            for s in range(n):
                                start = (s * c + ch) * plane + di * wp + dj
                                x = xp[start:start + span]
                                d = delta[g_f, s * span:(s + 1) * span]
                                for q in range(span):
                                    acc += x[q] * d[q]
                            dW[t + dj, g_f] = acc


@kernel
def conv_direct_input_grad(delta, W, n, c, hp, wp, kh, kw, dxp):
    """The transpose of :func:`conv_direct`: gradient into the padded planes ``dxp``.

    ``dxp[s, ch, u] = sum_(f, di, dj) W[tap, f] * delta[f, (s, u - di*wp - dj)]``;
    contributions past a sample's last plane come from garbage positions
    (zeros) and are skipped, so each thread writes only its own sample.
    """
    n_filters = W.shape[1]
    span = (hp - kh + 1) * wp
    plane = hp * wp
    zero = dxp.dtype.type(0.0)
    for s in prange(n):
        for ch in range(c):
            p0 = (s * c + ch) * plane
            own = dxp[p0:p0 + plane]
            for u in range(plane):
                own[u] = zero
            for f in range(0, n_filters, 2):
                # Filters in pairs: both add into the same output row, so
                # one load and store of it serves two filters' taps.
                pair = f + 1 < n_filters
                d = delta[f, s * span:(s + 1) * span]
                e = delta[f + 1 if pair else f, s * span:(s + 1) * span]
                for di in range(kh):
                    t = (ch * kh + di) * kw
                    out = dxp[p0 + di * wp:p0 + plane]
                    limit = min(out.shape[0], span + kw - 1)
                    if (kw == 5 or kw == 3) and span >= kw:
                        # Every term written out, with indices base + q, never
                        # q - k: Numba wraps negative indices, and that test
                        # per element stops a loop from vectorizing (9x).
                        # Positions u >= span would only read the last row's
                        # garbage positions of delta (zeros), so they are
                        # skipped; u < kw - 1 sees part of the window.
                        body = out[kw - 1:]
                        if kw == 5:
                            w0, w1, w2, w3, w4 = W[t, f], W[t + 1, f], W[t + 2, f], \
                                W[t + 3, f], W[t + 4, f]
                            out[0] += w0 * d[0]
                            out[1] += w0 * d[1] + w1 * d[0]
                            out[2] += w0 * d[2] + w1 * d[1] + w2 * d[0]
                            out[3] += w0 * d[3] + w1 * d[2] + w2 * d[1] + w3 * d[0]
                            if pair:
                                v0, v1, v2, v3, v4 = W[t, f + 1], W[t + 1, f + 1], \
                                    W[t + 2, f + 1], W[t + 3, f + 1], W[t + 4, f + 1]
                                out[0] += v0 * e[0]
                                out[1] += v0 * e[1] + v1 * e[0]
                                out[2] += v0 * e[2] + v1 * e[1] + v2 * e[0]
                                out[3] += v0 * e[3] + v1 * e[2] + v2 * e[1] + v3 * e[0]
                                for q in range(span - 4):
                                    body[q] += (w4 * d[q] + w3 * d[q + 1] + w2 * d[q + 2]
                                                + w1 * d[q + 3] + w0 * d[q + 4]
                                                + v4 * e[q] + v3 * e[q + 1] + v2 * e[q + 2]
                                                + v1 * e[q + 3] + v0 * e[q + 4])
                            else:
                                for q in range(span - 4):
                                    body[q] += (w4 * d[q] + w3 * d[q + 1] + w2 * d[q + 2]
                                                + w1 * d[q + 3] + w0 * d[q + 4])
                        else:
                            w0, w1, w2 = W[t, f], W[t + 1, f], W[t + 2, f]
                            out[0] += w0 * d[0]
                            out[1] += w0 * d[1] + w1 * d[0]
                            if pair:
                                v0, v1, v2 = W[t, f + 1], W[t + 1, f + 1], W[t + 2, f + 1]
                                out[0] += v0 * e[0]
                                out[1] += v0 * e[1] + v1 * e[0]
                                for q in range(span - 2):
                                    body[q] += (w2 * d[q] + w1 * d[q + 1] + w0 * d[q + 2]
                                                + v2 * e[q] + v1 * e[q + 1] + v0 * e[q + 2])
                            else:
                                for q in range(span - 2):
                                    body[q] += w2 * d[q] + w1 * d[q + 1] + w0 * d[q + 2]
                    else:
                        for g_f in range(f, f + 2 if pair else f + 1):
                            dd = delta[g_f, s * span:(s + 1) * span]
                            for dj in range(kw):
                                wv = W[t + dj, g_f]
                                for q in range(min(span, limit - dj)):
                                    out[dj + q] += wv * dd[q]
    tail = dxp[n * c * plane:]
    for k in range(tail.shape[0]):
        tail[k] = zero
