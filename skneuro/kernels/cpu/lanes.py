"""Convolution with the samples in the vector lanes: no unfolded matrix, no wasted lanes.

The layout is (C, H, W, NV): for every channel and position, the values of
all samples side by side, ``NV`` of them (the batch rounded up to
:data:`SAMPLE_BLOCK`, the extra samples zero). A stride-1 convolution is
then, for every output position and filter, a sum over taps of a weight times
a contiguous vector of samples: :func:`conv_lanes` keeps 8 filters x 2
vectors of samples (2 x 16 float32) in registers for the whole sum over the
C*KH*KW taps, the register blocking of a matrix-multiply micro-kernel, with
the unfolded matrix never written. Every lane is a real
sample and every position a real output, so even 4x4 and 2x2 planes (a
U-Net's lower levels) use the whole vector (vectors along an image row
would waste half of them on a 4x4 plane).

Measured on one AVX-512 core, 32 samples, 3x3 windows: ~115 GFLOP/s for 32
to 128 channels on 8x8 and 4x4 planes, against 55-62 GFLOP/s for OpenBLAS's
product of the unfolded input (which also has to be unfolded first).

:func:`to_lanes` and :func:`from_lanes` change layout (the latter fused with
an activation); :func:`conv_lanes` adds the bias to its sums;
:func:`pad_lanes` gives a lanes value the zero ring a convolution reads. The
input gradient is the same convolution of the padded output gradient with flipped filters (see
:func:`skneuro.kernels.cpu.conv.flip_filters`); the weight gradient,
:func:`conv_lanes_weight_grad`, sums tap x filter products over positions
and samples with 4 x 4 accumulators.
"""

import numba
import numpy as np
from numba import prange

from skneuro.kernels._jit import kernel
from skneuro.kernels.cpu import simd
from skneuro.kernels.cpu.activations import IDENTITY, activate_row

#: The lanes are padded to a multiple of this many samples: two vectors of
#: float32 (four of float64), the sample block of :func:`conv_lanes`.
SAMPLE_BLOCK = 32


def lanes_size(n):
    """The lanes' sample count NV for a batch of ``n`` samples."""
    return -(-n // SAMPLE_BLOCK) * SAMPLE_BLOCK


def to_lanes(x, ph, pw, out):
    """``out[c, ph + i, pw + j, s] = x[s, c, i, j]``, zero in the padding and for ``s >= N``.

    ``x`` is (N, C, H, W); ``out`` is (C, H + 2*ph, W + 2*pw, NV).
    """
    if x.dtype == np.float32 and x.flags.c_contiguous and out.flags.c_contiguous:
        _to_lanes_float32(x, ph, pw, out)
    else:
        _to_lanes_scalar(x, ph, pw, out)


def from_lanes(y, code, param, out):
    """``out[s, f, i, j] = g(y[f, i, j, s])`` for the first N samples.

    ``y`` is (F, OH, OW, NV) and ``out`` (N, F, OH, OW); ``code`` and
    ``param`` select the activation as in
    :mod:`skneuro.kernels.cpu.activations`.
    """
    if y.dtype == np.float32 and y.flags.c_contiguous and out.flags.c_contiguous:
        _from_lanes_float32(y, code, param, out)
    else:
        _from_lanes_scalar(y, code, param, out)


def pad_lanes(x, ph, pw, out):
    """``out[c, ph + i, pw + j, s] = x[c, i, j, s]``, zero in the ring around.

    ``x`` is (C, H, W, NV) and ``out`` (C, H + 2*ph, W + 2*pw, NV): a value of
    a network's lanes region given the padding a convolution reads. Rows of
    W*NV values are contiguous on both sides: a copy, not a transpose.
    """
    if x.flags.c_contiguous and out.flags.c_contiguous and x.shape[3] % SAMPLE_BLOCK == 0:
        _pad_lanes_vectors(x, ph, pw, out)
    else:
        _pad_lanes_scalar(x, ph, pw, out)


@kernel
def _pad_lanes_vectors(x, ph, pw, out):
    # Whole vectors, loaded and stored explicitly: 5x faster than the same
    # copy written as loops over row slices (~85 GB/s in the cache).
    c, h, w, nv = x.shape
    hp, wp = out.shape[1], out.shape[2]
    xf = x.reshape(-1)
    of = out.reshape(-1)
    v = simd.width(xf)
    zero = simd.zeros(xf)
    row = wp * nv
    left = pw * nv
    width = w * nv
    for ch in prange(c):
        for i in range(hp):
            at = (ch * hp + i) * row
            if i < ph or i >= ph + h:
                for k in range(0, row, v):
                    simd.store(of, at + k, zero)
                continue
            src = (ch * h + i - ph) * width
            for k in range(0, left, v):
                simd.store(of, at + k, zero)
            for k in range(0, width, v):
                simd.store(of, at + left + k, simd.load(xf, src + k))
            for k in range(left + width, row, v):
                simd.store(of, at + k, zero)


@kernel
def _pad_lanes_scalar(x, ph, pw, out):
    c, h, w, nv = x.shape
    zero = out.dtype.type(0.0)
    for ch in prange(c):
        out[ch] = zero
        for i in range(h):
            for j in range(w):
                for s in range(nv):
                    out[ch, ph + i, pw + j, s] = x[ch, i, j, s]


# A layout change is a transpose of (samples, positions) for each channel.
# Element by element, the stride on one side costs ~1 ns an element, a third
# of the time of the convolution itself; the float32 kernels move blocks of
# 16 samples x 16 positions through registers (simd.transpose), 3x faster,
# and leave only the edges of the block grid to the element loops. Float64
# (gradient checks) takes the element loops.


@numba.njit(inline="always")
def _zero_outside(plane, n, h, w, ph, pw):
    """Zero a lanes plane's padding ring and its samples past ``n``."""
    hp, wp, nv = plane.shape
    zero = plane.dtype.type(0.0)
    for yy in range(hp):
        inside = ph <= yy < ph + h
        for xx in range(wp):
            row = plane[yy, xx]
            first = n if inside and pw <= xx < pw + w else 0
            for s in range(first, nv):
                row[s] = zero


@numba.njit(inline="always")
def _copy_samples_in(x, ch, first, ph, pw, plane):
    """``plane[ph + i, pw + j, s] = x[s, ch, i, j]`` for samples ``s >= first``."""
    n, c, h, w = x.shape
    for s in range(first, n):
        for i in range(h):
            src = x[s, ch, i]
            dest = plane[ph + i]
            for j in range(w):
                dest[pw + j, s] = src[j]


@kernel
def _to_lanes_scalar(x, ph, pw, out):
    n, c, h, w = x.shape
    for ch in prange(c):
        _zero_outside(out[ch], n, h, w, ph, pw)
        _copy_samples_in(x, ch, 0, ph, pw, out[ch])


@kernel
def _to_lanes_float32(x, ph, pw, out):
    n, c, h, w = x.shape
    hp, wp, nv = out.shape[1], out.shape[2], out.shape[3]
    xf = x.reshape(-1)
    of = out.reshape(-1)
    hw = h * w
    blocked_samples, blocked_positions = n - n % 16, hw - hw % 16
    step = c * hw
    v = simd.width(of)
    for ch in prange(c):
        plane = out[ch]
        # The padding ring and the samples past n, zeroed with vector stores
        # (element by element, the short runs took half of the kernel's time).
        # NV is a multiple of the vector width: each run ends on a boundary.
        nothing = simd.zeros(of)
        for yy in range(hp):
            inside = ph <= yy < ph + h
            for xx in range(wp):
                base = ((ch * hp + yy) * wp + xx) * nv
                first = n if inside and pw <= xx < pw + w else 0
                start = min(-(-first // v) * v, nv)
                for k in range(first, start):
                    of[base + k] = 0.0
                for k in range(start, nv, v):
                    simd.store(of, base + k, nothing)
        for s0 in range(0, blocked_samples, 16):
            src = (s0 * c + ch) * hw
            for p0 in range(0, blocked_positions, 16):
                at = src + p0
                t = simd.load_transposed(xf, at, step)
                for m in range(16):
                    p = p0 + m
                    simd.store(of, ((ch * hp + ph + p // w) * wp + pw + p % w) * nv + s0, t[m])
            for p in range(blocked_positions, hw):
                dest = plane[ph + p // w, pw + p % w]
                for k in range(16):
                    dest[s0 + k] = xf[src + k * step + p]
        _copy_samples_in(x, ch, blocked_samples, ph, pw, plane)


@numba.njit(inline="always")
def _activate_samples(code, param, out, k):
    """The activation over the planes of channel ``k`` of every sample."""
    if code == IDENTITY:
        return
    n, f, size = out.shape[0], out.shape[1], out.shape[2] * out.shape[3]
    flat = out.reshape(-1)
    zero = out.dtype.type(0.0)
    for s in range(n):
        # The whole plane in one call: rows of 4 or 8 would run LLVM's
        # scalar remainder loop only.
        plane = flat[(s * f + k) * size:(s * f + k + 1) * size]
        activate_row(plane, zero, code, param, plane)


@kernel
def _from_lanes_scalar(y, code, param, out):
    n, f, oh, ow = out.shape
    for k in prange(f):
        for i in range(oh):
            block = y[k, i]
            for s in range(n):
                row = out[s, k, i]
                for j in range(ow):
                    row[j] = block[j, s]
        _activate_samples(code, param, out, k)


@kernel
def _from_lanes_float32(y, code, param, out):
    n, f, oh, ow = out.shape
    nv = y.shape[3]
    yf = y.reshape(-1)
    of = out.reshape(-1)
    hw = oh * ow
    blocked_samples, blocked_positions = n - n % 16, hw - hw % 16
    step = f * hw
    for k in prange(f):
        src = k * hw * nv
        for s0 in range(0, blocked_samples, 16):
            dest = (s0 * f + k) * hw
            for p0 in range(0, blocked_positions, 16):
                at = src + p0 * nv + s0
                t = simd.load_transposed(yf, at, nv)
                for m in range(16):
                    simd.store(of, dest + m * step + p0, t[m])
            for p in range(blocked_positions, hw):
                for m in range(16):
                    of[dest + m * step + p] = yf[src + p * nv + s0 + m]
        for s in range(blocked_samples, n):
            dest = (s * f + k) * hw
            for p in range(hw):
                of[dest + p] = yf[src + p * nv + s]
        _activate_samples(code, param, out, k)


@kernel
def conv_lanes(xl, W, b, kh, kw, ph, pw, out):
    """``out[f, i, j, s] = b[f] + sum_(c, di, dj) W[(c, di, dj), f] * xp[c, i + di, j + dj, s]``,
    where ``xp`` is ``xl`` with ``ph`` (``pw``) rows (columns) of zeros around.

    ``xl`` (C, H, W, NV) holds input planes (see :func:`to_lanes`), ``W`` is
    (C*KH*KW, F), ``b`` (F,) and ``out`` (F, H + 2*ph - KH + 1, W + 2*pw - KW + 1,
    NV); NV is a multiple of :data:`SAMPLE_BLOCK`. The zeros are not read:
    each output sums only the taps that fall inside the planes (the same
    sums, in the same order, as over a padded copy, minus terms that are
    zero). Work is split by blocks of filters and output rows; each output is
    written by one thread, its sum in tap order, so the result does not
    depend on the number of threads.
    """
    c, height, width, nv = xl.shape
    n_filters, oh, ow = out.shape[0], out.shape[1], out.shape[2]
    if nv % SAMPLE_BLOCK != 0 or out.shape[3] != nv:
        raise ValueError("conv_lanes: the lanes must hold a multiple of SAMPLE_BLOCK "
                         "samples, the same number in the input and the output")
    if oh != height + 2 * ph - kh + 1 or ow != width + 2 * pw - kw + 1:
        raise ValueError("conv_lanes: the output's planes must be the padded input's "
                         "minus the window")
    xf = xl.reshape(-1)
    wf = W.reshape(-1)
    bf = b.reshape(-1)
    of = out.reshape(-1)
    v = simd.width(xf)
    plane_out = oh * ow * nv
    n_blocks = (n_filters + 7) // 8
    sample_blocks = nv // (2 * v)
    # Sample blocks outermost: a job reads C*KH rows of W positions of its
    # block's samples, which stay in the cache for the next jobs (the other
    # filters and rows); over all NV samples (prediction: hundreds) they
    # would not.
    for job in prange(sample_blocks * n_blocks * oh):
        s = (job // (n_blocks * oh)) * 2 * v
        f = ((job // oh) % n_blocks) * 8
        i = job % oh
        # A last, partial block computes its missing filters with the block's
        # last real one (no branch in the loop) and does not store them.
        f1, f2, f3 = min(f + 1, n_filters - 1), min(f + 2, n_filters - 1), \
            min(f + 3, n_filters - 1)
        f4, f5, f6 = min(f + 4, n_filters - 1), min(f + 5, n_filters - 1), \
            min(f + 6, n_filters - 1)
        f7 = min(f + 7, n_filters - 1)
        # The window's rows inside the planes.
        di0, di1 = max(0, ph - i), min(kh, height + ph - i)
        for j in range(ow):
            a0 = a1 = b0 = b1 = c0 = c1 = d0 = d1 = simd.zeros(xf)
            e0 = e1 = g0 = g1 = h0 = h1 = k0 = k1 = simd.zeros(xf)
            dj0, dj1 = max(0, pw - j), min(kw, width + pw - j)
            for ch in range(c):
                for di in range(di0, di1):
                    base = ((ch * height + i + di - ph) * width + j - pw) * nv + s
                    tap = (ch * kh + di) * kw
                    for dj in range(dj0, dj1):
                        x0 = simd.load(xf, base + dj * nv)
                        x1 = simd.load(xf, base + dj * nv + v)
                        row = (tap + dj) * n_filters
                        w = simd.broadcast(wf, row + f)
                        a0 = simd.fma(w, x0, a0)
                        a1 = simd.fma(w, x1, a1)
                        w = simd.broadcast(wf, row + f1)
                        b0 = simd.fma(w, x0, b0)
                        b1 = simd.fma(w, x1, b1)
                        w = simd.broadcast(wf, row + f2)
                        c0 = simd.fma(w, x0, c0)
                        c1 = simd.fma(w, x1, c1)
                        w = simd.broadcast(wf, row + f3)
                        d0 = simd.fma(w, x0, d0)
                        d1 = simd.fma(w, x1, d1)
                        w = simd.broadcast(wf, row + f4)
                        e0 = simd.fma(w, x0, e0)
                        e1 = simd.fma(w, x1, e1)
                        w = simd.broadcast(wf, row + f5)
                        g0 = simd.fma(w, x0, g0)
                        g1 = simd.fma(w, x1, g1)
                        w = simd.broadcast(wf, row + f6)
                        h0 = simd.fma(w, x0, h0)
                        h1 = simd.fma(w, x1, h1)
                        w = simd.broadcast(wf, row + f7)
                        k0 = simd.fma(w, x0, k0)
                        k1 = simd.fma(w, x1, k1)
            at = ((f * oh + i) * ow + j) * nv + s
            real = n_filters - f
            _store_filter(of, at, v, real, 0, a0, a1, bf, f)
            _store_filter(of, at + plane_out, v, real, 1, b0, b1, bf, f1)
            _store_filter(of, at + 2 * plane_out, v, real, 2, c0, c1, bf, f2)
            _store_filter(of, at + 3 * plane_out, v, real, 3, d0, d1, bf, f3)
            _store_filter(of, at + 4 * plane_out, v, real, 4, e0, e1, bf, f4)
            _store_filter(of, at + 5 * plane_out, v, real, 5, g0, g1, bf, f5)
            _store_filter(of, at + 6 * plane_out, v, real, 6, h0, h1, bf, f6)
            _store_filter(of, at + 7 * plane_out, v, real, 7, k0, k1, bf, f7)


@numba.njit(inline="always")
def _store_filter(of, at, v, real, m, first, second, bf, f):
    """Store filter ``m`` of a block (its two vectors of samples) at ``at``, plus its
    bias ``bf[f]``, if the block has that many ``real`` filters. The bias comes
    after the sum, as in the unfolded product: both ways give the same numbers."""
    if real > m:
        bias = simd.broadcast(bf, f)
        simd.store(of, at, simd.add(first, bias))
        simd.store(of, at + v, simd.add(second, bias))


@kernel
def conv_lanes_weight_grad(xl, dl, qh, qw, kh, kw, dW):
    """``dW[(c, di, dj), f] = sum_(i, j, s) xl[c, i + di, j + dj, s] * dl[f, qh + i, qw + j, s]``.

    ``xl`` is the forward's padded input (C, HP, WP, NV); ``dl`` the gradient
    with respect to the pre-activation in lanes, padded by ``qh``, ``qw``
    (F, OH + 2*qh, OW + 2*qw, NV), zero for samples past the batch. Blocks
    of 4 taps x 4 filters keep 16 vector accumulators over all positions and
    samples, in a fixed order; each weight's sum is one thread's.
    """
    c, hp, wp, nv = xl.shape
    n_filters, dh, dw = dl.shape[0], dl.shape[1], dl.shape[2]
    oh, ow = hp - kh + 1, wp - kw + 1
    if nv % SAMPLE_BLOCK != 0 or dl.shape[3] != nv or dh < oh + qh or dw < ow + qw:
        raise ValueError("conv_lanes_weight_grad: the gradient's lanes must match the "
                         "input's (a multiple of SAMPLE_BLOCK samples) and cover its outputs")
    xf = xl.reshape(-1)
    df = dl.reshape(-1)
    v = simd.width(xf)
    n_taps = c * kh * kw
    tap_blocks = (n_taps + 3) // 4
    filter_blocks = (n_filters + 3) // 4
    # Where each tap's window starts in the flat lanes, computed once: four
    # integer divisions per tap in every job cost as much as the arithmetic
    # of a job on a 4x4 plane.
    offsets = np.empty(n_taps, np.int64)
    for t in range(n_taps):
        ch, rest = t // (kh * kw), t % (kh * kw)
        offsets[t] = ((ch * hp + rest // kw) * wp + rest % kw) * nv
    # Filter blocks outermost: consecutive jobs keep their 4 filters' planes
    # of the gradient in L1 and stream the input's taps, whose neighbouring
    # windows share cache lines (the other order re-read the whole gradient
    # from L2 for every block of taps: 73 -> 89 GFLOP/s for 128 -> 64 channels).
    for job in prange(tap_blocks * filter_blocks):
        f = (job // tap_blocks) * 4
        t = (job % tap_blocks) * 4
        # Missing taps and filters of a last, partial block repeat its last
        # real one and are not stored.
        t1, t2, t3 = min(t + 1, n_taps - 1), min(t + 2, n_taps - 1), min(t + 3, n_taps - 1)
        f1, f2, f3 = min(f + 1, n_filters - 1), min(f + 2, n_filters - 1), \
            min(f + 3, n_filters - 1)
        o0, o1, o2, o3 = offsets[t], offsets[t1], offsets[t2], offsets[t3]
        p0 = ((f * dh + qh) * dw + qw) * nv
        p1 = ((f1 * dh + qh) * dw + qw) * nv
        p2 = ((f2 * dh + qh) * dw + qw) * nv
        p3 = ((f3 * dh + qh) * dw + qw) * nv
        a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = simd.zeros(xf)
        c0 = c1 = c2 = c3 = d0 = d1 = d2 = d3 = simd.zeros(xf)
        for i in range(oh):
            for j in range(ow):
                at_x = (i * wp + j) * nv
                at_d = (i * dw + j) * nv
                for s in range(0, nv, v):
                    x0 = simd.load(xf, o0 + at_x + s)
                    x1 = simd.load(xf, o1 + at_x + s)
                    x2 = simd.load(xf, o2 + at_x + s)
                    x3 = simd.load(xf, o3 + at_x + s)
                    g = simd.load(df, p0 + at_d + s)
                    a0 = simd.fma(x0, g, a0)
                    a1 = simd.fma(x1, g, a1)
                    a2 = simd.fma(x2, g, a2)
                    a3 = simd.fma(x3, g, a3)
                    g = simd.load(df, p1 + at_d + s)
                    b0 = simd.fma(x0, g, b0)
                    b1 = simd.fma(x1, g, b1)
                    b2 = simd.fma(x2, g, b2)
                    b3 = simd.fma(x3, g, b3)
                    g = simd.load(df, p2 + at_d + s)
                    c0 = simd.fma(x0, g, c0)
                    c1 = simd.fma(x1, g, c1)
                    c2 = simd.fma(x2, g, c2)
                    c3 = simd.fma(x3, g, c3)
                    g = simd.load(df, p3 + at_d + s)
                    d0 = simd.fma(x0, g, d0)
                    d1 = simd.fma(x1, g, d1)
                    d2 = simd.fma(x2, g, d2)
                    d3 = simd.fma(x3, g, d3)
        sums = simd.totals(a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3)
        taps_real, filters_real = n_taps - t, n_filters - f
        _store_column(dW, t, f, taps_real, sums[0], sums[1], sums[2], sums[3])
        if filters_real > 1:
            _store_column(dW, t, f + 1, taps_real, sums[4], sums[5], sums[6], sums[7])
        if filters_real > 2:
            _store_column(dW, t, f + 2, taps_real, sums[8], sums[9], sums[10], sums[11])
        if filters_real > 3:
            _store_column(dW, t, f + 3, taps_real, sums[12], sums[13], sums[14], sums[15])


@numba.njit(inline="always")
def _store_column(dW, t, f, taps_real, v0, v1, v2, v3):
    """``dW[t:t + 4, f] = v0..v3``, the taps that exist."""
    dW[t, f] = v0
    if taps_real > 1:
        dW[t + 1, f] = v1
    if taps_real > 2:
        dW[t + 2, f] = v2
    if taps_real > 3:
        dW[t + 3, f] = v3

