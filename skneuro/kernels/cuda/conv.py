"""CUDA siblings of :mod:`skneuro.kernels.cpu.conv` (same layouts: ``cols`` is
(C*KH*KW, N*OH*OW), the product channel-major (F, N*OH*OW))."""

from numba import cuda

from skneuro.kernels.cuda._launch import check_device, grid, kernel
from skneuro.kernels.cuda.activations import _apply, _derivative_times


@kernel
def _im2col(x, kh, kw, sh, sw, ph, pw, cols):
    n, c, h, w = x.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    taps, width = cols.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, taps * width, stride):
        tap, pos = k // width, k % width
        s = pos // (oh * ow)
        i = (pos // ow) % oh
        j = pos % ow
        ch = tap // (kh * kw)
        di = (tap // kw) % kh
        dj = tap % kw
        y = i * sh - ph + di
        xx = j * sw - pw + dj
        if 0 <= y < h and 0 <= xx < w:
            cols[tap, pos] = x[s, ch, y, xx]
        else:
            cols[tap, pos] = 0.0


@kernel
def _col2im(cols, kh, kw, sh, sw, ph, pw, dx):
    # One thread per input element: it gathers, in a fixed order, every window
    # position that covers it (no atomics, so the result is deterministic).
    n, c, h, w = dx.shape
    oh = (h + 2 * ph - kh) // sh + 1
    ow = (w + 2 * pw - kw) // sw + 1
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * c * h * w, stride):
        s = k // (c * h * w)
        ch = (k // (h * w)) % c
        y = (k // w) % h
        xx = k % w
        total = 0.0
        for di in range(kh):
            top = y + ph - di
            if top < 0 or top % sh != 0:
                continue
            i = top // sh
            if i >= oh:
                continue
            for dj in range(kw):
                left = xx + pw - dj
                if left < 0 or left % sw != 0:
                    continue
                j = left // sw
                if j >= ow:
                    continue
                total += cols[(ch * kh + di) * kw + dj, (s * oh + i) * ow + j]
        dx[s, ch, y, xx] = total


@kernel
def _flip_filters(W, c, kh, kw, out):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        row, ch = k // c, k % c
        f = row // (kh * kw)
        di = (row // kw) % kh
        dj = row % kw
        out[row, ch] = W[(ch * kh + kh - 1 - di) * kw + kw - 1 - dj, f]


@kernel
def _channels_to_samples(y, b, code, param, out):
    n, f, oh, ow = out.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, out.size, stride):
        s = k // (f * oh * ow)
        ch = (k // (oh * ow)) % f
        i = (k // ow) % oh
        j = k % ow
        out[s, ch, i, j] = _apply(y[ch, s, i, j] + b[ch], code, param)


@kernel
def _samples_to_channels(grad, a, code, param, delta):
    f, n, oh, rw = delta.shape
    ow = grad.shape[3]
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, delta.size, stride):
        ch = k // (n * oh * rw)
        s = (k // (oh * rw)) % n
        i = (k // rw) % oh
        j = k % rw
        if j < ow:
            delta[ch, s, i, j] = _derivative_times(grad[s, ch, i, j], a[s, ch, i, j], code,
                                                   param)
        else:
            delta[ch, s, i, j] = 0.0


def im2col(x, kh, kw, sh, sw, ph, pw, cols):
    """Unfold (N, C, H, W) into (C*KH*KW, N*OH*OW)."""
    check_device(x, cols)
    _im2col[grid(cols.size)](x, kh, kw, sh, sw, ph, pw, cols)


def col2im(cols, kh, kw, sh, sw, ph, pw, dx):
    """Fold (C*KH*KW, N*OH*OW) back into (N, C, H, W), adding overlapping windows."""
    check_device(cols, dx)
    _col2im[grid(dx.size)](cols, kh, kw, sh, sw, ph, pw, dx)


def flip_filters(W, c, kh, kw, out):
    """``out[(f, di, dj), ch] = W[(ch, kh-1-di, kw-1-dj), f]``."""
    check_device(W, out)
    _flip_filters[grid(out.size)](W, c, kh, kw, out)


def channels_to_samples(y, b, code, param, out):
    """``out[n, f, i, j] = g(y[f, n, i, j] + b[f])``."""
    check_device(y, b, out)
    _channels_to_samples[grid(out.size)](y, b, code, param, out)


def samples_to_channels(grad, a, code, param, delta):
    """``delta[f, n, i, j] = grad[n, f, i, j] * g'(h)``; zeros for ``j >= OW``."""
    check_device(grad, a, delta)
    _samples_to_channels[grid(delta.size)](grad, a, code, param, delta)


@kernel
def _channel_bias_activation(x, b, code, param, out):
    n, f, p = x.shape
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, n * f * p, stride):
        s = k // (f * p)
        ch = (k // p) % f
        q = k % p
        out[s, ch, q] = _apply(x[s, ch, q] + b[ch], code, param)


def channel_bias_activation(x, b, code, param, out):
    """``out[n, f, p] = g(x[n, f, p] + b[f])`` over (N, F, P); ``out`` may be ``x``."""
    check_device(x, b, out)
    _channel_bias_activation[grid(out.size)](x, b, code, param, out)
